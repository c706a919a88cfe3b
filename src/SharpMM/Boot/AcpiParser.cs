namespace SharpMM.Boot;

/// <summary>
/// Finds the ACPI tables and reads the MADT, over any <see cref="IPhysicalView"/>. Firmware
/// tables are untrusted input: every checksum is verified, every length is checked against the
/// table holding it, and a failure returns a status with a literal naming what was wrong
/// ("MADT checksum", "MADT entry 3 runs past the table"...), never a partial result.
/// <code>
///   RSDP   "RSD PTR " on a 16-byte boundary in the first KiB of the EBDA (segment at 0x40E) or
///          in 0xE0000-0xFFFFF; 20 bytes (revision 0: RSDT address at +16, checksum over 20)
///          or 36 (revision 2+: length +20, XSDT address +24, extended checksum over 36)
///   SDT    header of 36 bytes: signature +0, length +4 (header included), checksum +9 (all
///          bytes of the table sum to 0 mod 256); RSDT entries u32, XSDT entries u64 from +36
///   MADT   "APIC": local APIC address u32 +36, flags u32 +40 (bit 0: 8259 PICs present),
///          entries from +44, each { u8 type, u8 length, ... }:
///            0 local APIC      { uid u8 +2, APIC id u8 +3, flags u32 +4 (bit 0 enabled) }   8 bytes
///            1 I/O APIC        { id u8 +2, address u32 +4, GSI base u32 +8 }                  12 bytes
///            5 LAPIC override  { address u64 +4 }                                             12 bytes
///            9 local x2APIC    { x2APIC id u32 +4, flags u32 +8, uid u32 +12 }                16 bytes
///          other types are skipped by their length
/// </code>
/// The XSDT is preferred when the RSDP has one (revision 2+, non-zero address), as ACPI 2.0 asks.
/// </summary>
public static unsafe class AcpiParser
{
    /// <summary>Bytes of an SDT header.</summary>
    public const int HeaderBytes = 36;
    private const int RsdpV1Bytes = 20, RsdpV2Bytes = 36, MadtEntriesOffset = 44;
    private const ulong EbdaPointer = 0x40E, BiosAreaStart = 0xE0000, BiosAreaEnd = 0x100000;

    /// <summary>
    /// The EBDA's address as the BIOS data area holds it (the real-mode segment at 0x40E, shifted
    /// by 4). False when the view cannot reach page 0 or the value is not in low memory.
    /// </summary>
    public static bool ReadEbdaPointer<TView>(ref TView view, out ulong ebda) where TView : struct, IPhysicalView
    {
        ebda = 0;
        byte* segment = view.Map(EbdaPointer, 2);
        if (segment == null) return false;
        ulong at = (ulong)(segment[0] | segment[1] << 8) << 4;
        if (at < 0x400 || at >= BiosAreaStart) return false;
        ebda = at;
        return true;
    }

    /// <summary>
    /// Looks for the RSDP in the first KiB of the EBDA at <paramref name="ebda"/> (from
    /// <see cref="ReadEbdaPointer"/>, or where the loader says low RAM ends; 0 to skip it), then in
    /// 0xE0000-0xFFFFF. A signature whose checksum fails is skipped (the BIOS area holds many
    /// byte strings) but remembered: when no valid RSDP exists the reason says one was seen.
    /// Return: Ok and its address; <see cref="Status.EmptyMap"/> "no RSDP" or
    /// <see cref="Status.Malformed"/> "RSDP checksum"; <see cref="Status.OutOfRange"/> when the
    /// view cannot reach the BIOS area.
    /// </summary>
    public static Status FindRsdp<TView>(ref TView view, ulong ebda, out ulong rsdp, out string reason) where TView : struct, IPhysicalView
    {
        rsdp = 0;
        bool badChecksum = false;
        if (ebda != 0 && ebda < BiosAreaStart && Scan(ref view, ebda, ebda + 1024, out rsdp, ref badChecksum))
        {
            reason = null;
            return Status.Ok;
        }
        if (view.Map(BiosAreaStart, BiosAreaEnd - BiosAreaStart) == null)
        {
            reason = "BIOS area 0xE0000-0xFFFFF out of reach";
            return Status.OutOfRange;
        }
        if (Scan(ref view, BiosAreaStart, BiosAreaEnd, out rsdp, ref badChecksum))
        {
            reason = null;
            return Status.Ok;
        }
        reason = badChecksum ? "RSDP checksum" : "no RSDP";
        return badChecksum ? Status.Malformed : Status.EmptyMap;
    }

    private static bool Scan<TView>(ref TView view, ulong start, ulong end, out ulong rsdp, ref bool badChecksum) where TView : struct, IPhysicalView
    {
        for (ulong a = start; a + RsdpV1Bytes <= end; a += 16)
        {
            byte* p = view.Map(a, RsdpV1Bytes);
            if (p == null || !Signature(p, "RSD PTR ")) continue;
            if (Sum(p, RsdpV1Bytes) == 0)
            {
                rsdp = a;
                return true;
            }
            badChecksum = true;
        }
        rsdp = 0;
        return false;
    }

    /// <summary>
    /// Reads the MADT the RSDP at <paramref name="rsdp"/> leads to (through the XSDT when there is
    /// one, else the RSDT). Return: Ok; <see cref="Status.Malformed"/> with the reason for a bad
    /// checksum, a bad signature, a table shorter than its header or an entry that is shorter
    /// than 2 bytes, shorter than its type needs, or runs past the table;
    /// <see cref="Status.OutOfRange"/> when a table lies outside the view;
    /// <see cref="Status.EmptyMap"/> "no MADT" when no root entry is an "APIC" table.
    /// <paramref name="madt"/> is default unless Ok.
    /// </summary>
    public static Status ReadMadt<TView>(ref TView view, ulong rsdp, out Madt madt, out string reason) where TView : struct, IPhysicalView
    {
        madt = default;
        byte* r = view.Map(rsdp, RsdpV1Bytes);
        if (r == null) { reason = "RSDP out of reach"; return Status.OutOfRange; }
        if (!Signature(r, "RSD PTR ")) { reason = "RSDP signature"; return Status.Malformed; }
        if (Sum(r, RsdpV1Bytes) != 0) { reason = "RSDP checksum"; return Status.Malformed; }

        ulong root = RawRead.U32(r + 16);
        int entryBytes = 4;
        if (r[15] >= 2)
        {
            byte* r2 = view.Map(rsdp, RsdpV2Bytes);
            if (r2 == null) { reason = "RSDP out of reach"; return Status.OutOfRange; }
            if (Sum(r2, RsdpV2Bytes) != 0) { reason = "RSDP extended checksum"; return Status.Malformed; }
            ulong xsdt = RawRead.U64(r2 + 24);
            if (xsdt != 0)
            {
                root = xsdt;
                entryBytes = 8;
            }
        }

        Status s = MapTable(ref view, root, entryBytes == 8 ? Table.Xsdt : Table.Rsdt, out byte* rootTable, out uint rootLength, out reason);
        if (s != Status.Ok) return s;
        uint count = (rootLength - HeaderBytes) / (uint)entryBytes;
        for (uint i = 0; i < count; i++)
        {
            byte* e = rootTable + HeaderBytes + i * entryBytes;
            ulong table = entryBytes == 8 ? RawRead.U64(e) : RawRead.U32(e);
            byte* header = view.Map(table, HeaderBytes);
            if (header == null) { reason = entryBytes == 8 ? "XSDT entry out of reach" : "RSDT entry out of reach"; return Status.OutOfRange; }
            if (!Signature(header, "APIC")) continue;
            s = MapTable(ref view, table, Table.Madt, out byte* t, out uint length, out reason);
            if (s != Status.Ok) return s;
            return ParseMadt(t, length, out madt, out reason);
        }
        reason = "no MADT";
        return Status.EmptyMap;
    }

    /// <summary>Maps the whole table at <paramref name="phys"/> after checking that it is at
    /// least a header long and that its bytes sum to 0.</summary>
    private static Status MapTable<TView>(ref TView view, ulong phys, Table kind, out byte* table, out uint length, out string reason) where TView : struct, IPhysicalView
    {
        table = null;
        length = 0;
        byte* header = view.Map(phys, HeaderBytes);
        if (header == null)
        {
            reason = kind switch { Table.Rsdt => "RSDT out of reach", Table.Xsdt => "XSDT out of reach", _ => "MADT out of reach" };
            return Status.OutOfRange;
        }
        length = RawRead.U32(header + 4);
        if (length < HeaderBytes)
        {
            reason = kind switch { Table.Rsdt => "RSDT shorter than its header", Table.Xsdt => "XSDT shorter than its header", _ => "MADT shorter than its header" };
            return Status.Malformed;
        }
        table = view.Map(phys, length);
        if (table == null)
        {
            reason = kind switch { Table.Rsdt => "RSDT truncated: its length runs out of reach", Table.Xsdt => "XSDT truncated: its length runs out of reach", _ => "MADT truncated: its length runs out of reach" };
            return Status.OutOfRange;
        }
        if (Sum(table, length) != 0)
        {
            reason = kind switch { Table.Rsdt => "RSDT checksum", Table.Xsdt => "XSDT checksum", _ => "MADT checksum" };
            return Status.Malformed;
        }
        reason = null;
        return Status.Ok;
    }

    /// <summary>
    /// Parses a MADT already checked for its checksum: [<paramref name="table"/>,
    /// <paramref name="table"/> + <paramref name="length"/>) is the whole table. Return: Ok;
    /// <see cref="Status.Malformed"/> "MADT shorter than its fixed fields", "MADT entry shorter
    /// than 2 bytes", "MADT entry runs past the table" or "MADT entry too short for its type".
    /// </summary>
    public static Status ParseMadt(byte* table, uint length, out Madt madt, out string reason)
    {
        madt = default;
        if (length < MadtEntriesOffset) { reason = "MADT shorter than its fixed fields"; return Status.Malformed; }
        Madt m = default;
        m.LocalApicAddress = RawRead.U32(table + 36);
        m.HasLegacyPics = (RawRead.U32(table + 40) & 1) != 0;
        uint at = MadtEntriesOffset;
        while (at < length)
        {
            if (length - at < 2) { reason = "MADT entry shorter than 2 bytes"; return Status.Malformed; }
            byte type = table[at];
            byte size = table[at + 1];
            if (size < 2) { reason = "MADT entry shorter than 2 bytes"; return Status.Malformed; }
            if (size > length - at) { reason = "MADT entry runs past the table"; return Status.Malformed; }
            byte* e = table + at;
            uint need = type switch { 0 => 8u, 1 => 12u, 5 => 12u, 9 => 16u, _ => 2u };
            if (size < need) { reason = "MADT entry too short for its type"; return Status.Malformed; }
            switch (type)
            {
                case 0:
                    m.Add(new MadtCpu { ProcessorUid = e[2], ApicId = e[3], Enabled = (RawRead.U32(e + 4) & 1) != 0 });
                    break;
                case 1:
                    if (m.IoApicCount == 0) m.IoApicAddress = RawRead.U32(e + 4);
                    m.IoApicCount++;
                    break;
                case 5:
                    m.LocalApicAddress = RawRead.U64(e + 4);
                    m.LocalApicOverridden = true;
                    break;
                case 9:
                    m.Add(new MadtCpu { ApicId = RawRead.U32(e + 4), Enabled = (RawRead.U32(e + 8) & 1) != 0, ProcessorUid = RawRead.U32(e + 12) });
                    break;
            }
            at += size;
        }
        madt = m;
        reason = null;
        return Status.Ok;
    }

    private enum Table { Rsdt, Xsdt, Madt }

    private static bool Signature(byte* p, string s)
    {
        for (int i = 0; i < s.Length; i++) if (p[i] != s[i]) return false;
        return true;
    }

    private static byte Sum(byte* p, uint n)
    {
        byte sum = 0;
        for (uint i = 0; i < n; i++) sum += p[i];
        return sum;
    }
}
