using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using SharpMM.Boot;
using Xunit;

namespace SharpMM.Tests.Boot;

/// <summary>
/// The ACPI parser over a stand-in for the first 2 MiB of physical memory: the firmware tables
/// are built byte by byte as a BIOS lays them out, then broken one way at a time.
/// </summary>
public unsafe class AcpiParserTests
{
    private const ulong RsdpAt = 0xF5A30, RsdtAt = 0x1000, XsdtAt = 0x1400, MadtAt = 0x2000, FacpAt = 0x3000;

    /// <summary>Physical memory [0, Size) as a byte array; anything beyond is out of reach.</summary>
    private sealed class Firmware
    {
        public const int Size = 2 << 20;
        public readonly byte[] Bytes = new byte[Size];

        public void Put(ulong at, byte[] data) => data.CopyTo(Bytes, (int)at);

        public Status Find(out ulong rsdp, out string reason)
        {
            fixed (byte* p = Bytes)
            {
                var view = new ArrayView(p, Size);
                ulong ebda = AcpiParser.ReadEbdaPointer(ref view, out ulong e) ? e : 0;
                return AcpiParser.FindRsdp(ref view, ebda, out rsdp, out reason);
            }
        }

        public Status Read(ulong rsdp, out Madt madt, out string reason)
        {
            fixed (byte* p = Bytes)
            {
                var view = new ArrayView(p, Size);
                return AcpiParser.ReadMadt(ref view, rsdp, out madt, out reason);
            }
        }
    }

    private readonly struct ArrayView(byte* bytes, ulong size) : IPhysicalView
    {
        public byte* Map(ulong phys, ulong byteCount) =>
            phys < size && byteCount <= size - phys ? bytes + phys : null;
    }

    private static byte[] Rsdp(ulong rsdt, ulong xsdt = 0, byte revision = 0)
    {
        var b = new byte[revision >= 2 ? 36 : 20];
        Encoding.ASCII.GetBytes("RSD PTR ").CopyTo(b, 0);
        Encoding.ASCII.GetBytes("SHARPM").CopyTo(b, 9);
        b[15] = revision;
        BitConverter.GetBytes((uint)rsdt).CopyTo(b, 16);
        if (revision >= 2)
        {
            BitConverter.GetBytes(36u).CopyTo(b, 20);
            BitConverter.GetBytes(xsdt).CopyTo(b, 24);
        }
        b[8] = Checksum(b, 20);
        if (revision >= 2) b[32] = Checksum(b, 36);
        return b;
    }

    private static byte[] Table(string signature, byte[] body)
    {
        var b = new byte[36 + body.Length];
        Encoding.ASCII.GetBytes(signature).CopyTo(b, 0);
        BitConverter.GetBytes((uint)b.Length).CopyTo(b, 4);
        b[8] = 1;
        body.CopyTo(b, 36);
        b[9] = Checksum(b, b.Length);
        return b;
    }

    private static byte Checksum(byte[] b, int length)
    {
        byte sum = 0;
        for (int i = 0; i < length; i++) sum += b[i];
        return (byte)(0 - sum);
    }

    private static void Refresh(byte[] table) { table[9] = 0; table[9] = Checksum(table, table.Length); }

    private static byte[] Rsdt(params ulong[] tables)
    {
        var body = new List<byte>();
        foreach (ulong t in tables) body.AddRange(BitConverter.GetBytes((uint)t));
        return Table("RSDT", body.ToArray());
    }

    private static byte[] Xsdt(params ulong[] tables)
    {
        var body = new List<byte>();
        foreach (ulong t in tables) body.AddRange(BitConverter.GetBytes(t));
        return Table("XSDT", body.ToArray());
    }

    private static byte[] LocalApic(byte uid, byte apicId, bool enabled) => [0, 8, uid, apicId, (byte)(enabled ? 1 : 0), 0, 0, 0];
    private static byte[] IoApic(byte id, uint address) => [1, 12, id, 0, .. BitConverter.GetBytes(address), 0, 0, 0, 0];
    private static byte[] ApicOverride(ulong address) => [5, 12, 0, 0, .. BitConverter.GetBytes(address)];
    private static byte[] X2Apic(uint id, uint uid, bool enabled) => [9, 16, 0, 0, .. BitConverter.GetBytes(id), .. BitConverter.GetBytes(enabled ? 1u : 0u), .. BitConverter.GetBytes(uid)];

    private static byte[] Madt(uint lapic, params byte[][] entries)
    {
        var body = new List<byte>();
        body.AddRange(BitConverter.GetBytes(lapic));
        body.AddRange(BitConverter.GetBytes(1u));
        foreach (byte[] e in entries) body.AddRange(e);
        return Table("APIC", body.ToArray());
    }

    /// <summary>What QEMU's SeaBIOS builds for -smp 4: the RSDP in the F segment, an RSDT with a
    /// FACP and the MADT, four enabled local APICs, one I/O APIC.</summary>
    private static Firmware Qemu(byte[] madt)
    {
        var f = new Firmware();
        f.Put(RsdpAt, Rsdp(RsdtAt));
        f.Put(RsdtAt, Rsdt(FacpAt, MadtAt));
        f.Put(FacpAt, Table("FACP", new byte[80]));
        f.Put(MadtAt, madt);
        return f;
    }

    private static byte[] FourCpus() => Madt(0xFEE00000, LocalApic(0, 0, true), LocalApic(1, 1, true), LocalApic(2, 2, true),
        LocalApic(3, 3, true), IoApic(0, 0xFEC00000));

    [Fact]
    public void FindsTheRsdpInTheBiosArea_AndReadsEveryProcessorOfTheMadt()
    {
        Firmware f = Qemu(Madt(0xFEE00000, LocalApic(0, 0, true), LocalApic(1, 1, true), LocalApic(2, 4, false),
            IoApic(2, 0xFEC00000), LocalApic(3, 6, true)));
        Assert.Equal(Status.Ok, f.Find(out ulong rsdp, out string reason));
        Assert.Null(reason);
        Assert.Equal(RsdpAt, rsdp);
        Assert.Equal(Status.Ok, f.Read(rsdp, out Madt madt, out reason));
        Assert.Null(reason);
        Assert.Equal(0xFEE00000UL, madt.LocalApicAddress);
        Assert.False(madt.LocalApicOverridden);
        Assert.True(madt.HasLegacyPics);
        Assert.Equal(1, madt.IoApicCount);
        Assert.Equal(0xFEC00000UL, madt.IoApicAddress);
        Assert.Equal(4, madt.Listed);
        Assert.Equal(4, madt.Count);
        Assert.Equal(3, madt.EnabledCount);
        Assert.Equal(new[] { (0u, 0u, true), (1u, 1u, true), (4u, 2u, false), (6u, 3u, true) },
            new[] { 0, 1, 2, 3 }.Select(i => (madt.Cpu(i).ApicId, madt.Cpu(i).ProcessorUid, madt.Cpu(i).Enabled)));
    }

    [Fact]
    public void TheEbdaIsSearchedFirst()
    {
        Firmware f = Qemu(FourCpus());
        const ulong ebda = 0x9FC00;
        f.Put(0x40E, BitConverter.GetBytes((ushort)(ebda >> 4)));
        f.Put(ebda + 0x40, Rsdp(RsdtAt));
        Assert.Equal(Status.Ok, f.Find(out ulong rsdp, out _));
        Assert.Equal(ebda + 0x40, rsdp);
    }

    [Fact]
    public void Revision2_PrefersTheXsdt_AndTheLocalApicOverride()
    {
        Firmware f = Qemu(FourCpus());
        const ulong madt2 = 0x5000;
        f.Put(madt2, Madt(0xFEE00000, LocalApic(0, 0, true), X2Apic(0x100, 9, true), ApicOverride(0xFED00000)));
        f.Put(XsdtAt, Xsdt(FacpAt, madt2));
        f.Put(RsdpAt, Rsdp(RsdtAt, XsdtAt, 2));
        Assert.Equal(Status.Ok, f.Read(RsdpAt, out Madt madt, out _));
        Assert.Equal(2, madt.Count);
        Assert.Equal(0x100u, madt.Cpu(1).ApicId);
        Assert.Equal(9u, madt.Cpu(1).ProcessorUid);
        Assert.Equal(0xFED00000UL, madt.LocalApicAddress);
        Assert.True(madt.LocalApicOverridden);
    }

    [Fact]
    public void NoRsdp_IsEmptyMap_AndARsdpWithABadChecksumIsNamed()
    {
        var empty = new Firmware();
        Assert.Equal(Status.EmptyMap, empty.Find(out _, out string reason));
        Assert.Equal("no RSDP", reason);

        Firmware f = Qemu(FourCpus());
        f.Bytes[RsdpAt + 8]++;
        Assert.Equal(Status.Malformed, f.Find(out _, out reason));
        Assert.Equal("RSDP checksum", reason);
        Assert.Equal(Status.Malformed, f.Read(RsdpAt, out Madt madt, out reason));
        Assert.Equal("RSDP checksum", reason);
        Assert.Equal(0, madt.Count);
    }

    [Fact]
    public void RevisionTwoRsdpWithABadExtendedChecksum_IsNamed()
    {
        Firmware f = Qemu(FourCpus());
        byte[] r = Rsdp(RsdtAt, XsdtAt, 2);
        r[32]++;
        f.Put(RsdpAt, r);
        Assert.Equal(Status.Malformed, f.Read(RsdpAt, out _, out string reason));
        Assert.Equal("RSDP extended checksum", reason);
    }

    [Fact]
    public void BadChecksumsOfTheRootTableAndOfTheMadt_AreNamed()
    {
        Firmware f = Qemu(FourCpus());
        f.Bytes[RsdtAt + 20]++;
        Assert.Equal(Status.Malformed, f.Read(RsdpAt, out _, out string reason));
        Assert.Equal("RSDT checksum", reason);

        f = Qemu(FourCpus());
        f.Bytes[MadtAt + 50]++;
        Assert.Equal(Status.Malformed, f.Read(RsdpAt, out Madt madt, out reason));
        Assert.Equal("MADT checksum", reason);
        Assert.Equal(0, madt.Count);
    }

    [Fact]
    public void TablesThatRunOutOfReach_OrAreShorterThanAHeader_AreNamed()
    {
        byte[] madt = FourCpus();
        var f = new Firmware();
        ulong at = Firmware.Size - 40;
        f.Put(RsdpAt, Rsdp(RsdtAt));
        f.Put(RsdtAt, Rsdt(at));
        f.Put(at, madt[..40]); // the length field says more than the 40 bytes left
        Assert.Equal(Status.OutOfRange, f.Read(RsdpAt, out _, out string reason));
        Assert.Equal("MADT truncated: its length runs out of reach", reason);

        f = Qemu(FourCpus());
        f.Put(RsdtAt + 4, BitConverter.GetBytes(20u));
        Assert.Equal(Status.Malformed, f.Read(RsdpAt, out _, out reason));
        Assert.Equal("RSDT shorter than its header", reason);

        f = Qemu(FourCpus());
        f.Put(RsdtAt, Rsdt(FacpAt, 0x4000_0000));
        Assert.Equal(Status.OutOfRange, f.Read(RsdpAt, out _, out reason));
        Assert.Equal("RSDT entry out of reach", reason);
    }

    [Fact]
    public void AnEntryRunningPastTheMadt_IsMalformed()
    {
        byte[] madt = Madt(0xFEE00000, LocalApic(0, 0, true), LocalApic(1, 1, true));
        madt[^7] = 20; // the last entry claims 20 bytes, 8 are left
        Refresh(madt);
        Firmware f = Qemu(madt);
        Assert.Equal(Status.Malformed, f.Read(RsdpAt, out Madt result, out string reason));
        Assert.Equal("MADT entry runs past the table", reason);
        Assert.Equal(0, result.Count);
    }

    [Fact]
    public void EntriesTooShortForTheLoopOrForTheirType_AreMalformed()
    {
        byte[] zero = Madt(0xFEE00000, LocalApic(0, 0, true), [0x7F, 0, 0, 0]);
        Assert.Equal(Status.Malformed, Qemu(zero).Read(RsdpAt, out _, out string reason));
        Assert.Equal("MADT entry shorter than 2 bytes", reason);

        byte[] odd = Madt(0xFEE00000, LocalApic(0, 0, true), [0x7F]);
        Assert.Equal(Status.Malformed, Qemu(odd).Read(RsdpAt, out _, out reason));
        Assert.Equal("MADT entry shorter than 2 bytes", reason);

        byte[] shortApic = Madt(0xFEE00000, [0, 6, 0, 0, 1, 0]);
        Assert.Equal(Status.Malformed, Qemu(shortApic).Read(RsdpAt, out _, out reason));
        Assert.Equal("MADT entry too short for its type", reason);

        byte[] fixedOnly = Table("APIC", new byte[4]);
        Assert.Equal(Status.Malformed, Qemu(fixedOnly).Read(RsdpAt, out _, out reason));
        Assert.Equal("MADT shorter than its fixed fields", reason);
    }

    [Fact]
    public void UnknownEntryTypes_AreSkippedByTheirLength()
    {
        byte[] madt = Madt(0xFEE00000, LocalApic(0, 0, true), [2, 10, 0, 0, 0, 0, 0, 0, 0, 0], [4, 6, 0xFF, 5, 0, 1], LocalApic(1, 1, true));
        Assert.Equal(Status.Ok, Qemu(madt).Read(RsdpAt, out Madt result, out _));
        Assert.Equal(2, result.Count);
    }

    [Fact]
    public void NoMadtInTheRootTable_IsEmptyMap()
    {
        Firmware f = Qemu(FourCpus());
        f.Put(RsdtAt, Rsdt(FacpAt));
        Assert.Equal(Status.EmptyMap, f.Read(RsdpAt, out _, out string reason));
        Assert.Equal("no MADT", reason);
    }

    [Fact]
    public void StartOrder_IsTheEnabledProcessorsInTableOrder_WithoutTheBootCpu()
    {
        Firmware f = Qemu(Madt(0xFEE00000, LocalApic(0, 4, true), LocalApic(1, 0, true), LocalApic(2, 2, false), LocalApic(3, 6, true)));
        Assert.Equal(Status.Ok, f.Read(RsdpAt, out Madt madt, out _));
        uint[] ids = new uint[16];
        int n = madt.StartOrder(bootApicId: 0, maxCpus: 16, ids, out int beyond);
        Assert.Equal(new uint[] { 4, 6 }, ids[..n]);
        Assert.Equal(0, beyond);
        n = madt.StartOrder(bootApicId: 6, maxCpus: 2, ids, out beyond);
        Assert.Equal(new uint[] { 4 }, ids[..n]);
        Assert.Equal(1, beyond);
    }

    // A MADT listing Madt.Capacity + 6 enabled processors, APIC ids 0, 1, 2, ...
    private static Madt SixMoreProcessorsThanTheCapacity()
    {
        var entries = new List<byte[]>();
        for (int i = 0; i < SharpMM.Boot.Madt.Capacity + 6; i++) entries.Add(LocalApic((byte)i, (byte)i, true));
        const ulong bigMadt = 0x6000;
        Firmware f = Qemu(FourCpus());
        f.Put(bigMadt, Madt(0xFEE00000, entries.ToArray()));
        f.Put(RsdtAt, Rsdt(bigMadt));
        Assert.Equal(Status.Ok, f.Read(RsdpAt, out Madt madt, out _));
        return madt;
    }

    [Fact]
    public void StartOrder_OfMoreProcessorsThanTheLimit_StartsTheFirstAndCountsTheRest()
    {
        Madt madt = SixMoreProcessorsThanTheCapacity();
        uint[] ids = new uint[16];
        int n = madt.StartOrder(bootApicId: 0, maxCpus: 16, ids, out int beyond);
        Assert.Equal(15, n);
        Assert.Equal(Enumerable.Range(1, 15).Select(i => (uint)i), ids[..n]);
        Assert.Equal(SharpMM.Boot.Madt.Capacity + 6 - 16, beyond);
    }

    [Fact]
    public void MoreProcessorsThanTheCapacity_KeepsTheFirstAndCountsAll()
    {
        Madt madt = SixMoreProcessorsThanTheCapacity();
        Assert.Equal(SharpMM.Boot.Madt.Capacity + 6, madt.Listed);
        Assert.Equal(SharpMM.Boot.Madt.Capacity, madt.Count);
        Assert.Equal((uint)SharpMM.Boot.Madt.Capacity - 1, madt.Cpu(SharpMM.Boot.Madt.Capacity - 1).ApicId);
    }
}
