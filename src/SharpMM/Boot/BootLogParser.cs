namespace SharpMM.Boot;

/// <summary>
/// Reads the e820 table from Linux boot-log text as users paste it from dmesg or a journal.
/// A table line is "SOURCE: " followed by one of
/// <code>
///   [mem 0x0000000000100000-0x0000000007fdffff] usable            (3.x and later; END inclusive)
///   [mem 0x0000000000100000-0x0000000007fdffff]  127.8 MB System RAM   (optional size column)
///   [gap 0x00000000000a0000-0x00000000000effff]                    (skipped; newer kernels)
///   0000000000100000 - 0000000007fe0000 (usable)                   (2.6 and earlier; END exclusive)
/// </code>
/// SOURCE is the name Linux gives each dump of its table: "BIOS-e820" (the firmware table, the
/// usual one), "BIOS-e801" and "BIOS-88" (maps Linux faked without E820), "Xen", "user" (after
/// mem=/memmap=), "modified", "extended" and "reserve setup_data" (after later edits). A log may
/// hold several dumps; <see cref="Parse"/> reads only the source of the first table line
/// (normally BIOS-e820) and ignores the others, <see cref="ParseSource"/> reads a named one. Lines
/// that merely mention ranges ("e820: update [mem ...]", "e820: remove [mem ...]",
/// "e820: [mem ...] available for PCI devices", "e820: reserve RAM buffer [mem ...]") are not table
/// lines. Any prefix before SOURCE is allowed (timestamps, "host kernel: ", "&lt;6&gt;"), lines may end
/// in CRLF, and all other lines are ignored.
///
/// Type words, compared ignoring ASCII case: usable, System RAM, kernel usable RAM (1); reserved,
/// device reserved (2); ACPI data (3); ACPI NVS (4); unusable (5); soft reserved (0xefffffff);
/// persistent (type N), persistent RAM (type N), type N (N); in the 2.6 form, inside parentheses.
///
/// An inclusive end of 0xffffffffffffffff gives End = ulong.MaxValue; an inclusive end one below
/// the start is how Linux prints an empty entry and gives one. A table line with an unparsable
/// number, an end before its start or an unknown type is an error naming its 1-based line.
/// </summary>
public static unsafe class BootLogParser
{
    private enum Form : byte { Mem, Gap, Classic }

    private const int KnownSourceCount = 8;

    private static string KnownSource(int i) => i switch
    {
        0 => "BIOS-e820",
        1 => "BIOS-e801",
        2 => "BIOS-88",
        3 => "Xen",
        4 => "reserve setup_data",
        5 => "extended",
        6 => "modified",
        _ => "user",
    };

    /// <summary>
    /// Appends the entries of the first table dump's source found in <paramref name="text"/>.
    /// Returns <see cref="Status.Malformed"/> (unparsable number, malformed range, unknown type),
    /// <see cref="Status.EndBeforeStart"/> or <see cref="Status.NoSpace"/> naming the line,
    /// <see cref="Status.EmptyMap"/> when there is no table line, <see cref="Status.InvalidArgument"/>
    /// for a negative length. On failure <paramref name="raw"/> is unchanged.
    /// </summary>
    public static Status Parse(byte* text, int length, ref MemoryMap raw, out MapError error)
    {
        Status s = Scan(text, length, null, ref raw, false, out error);
        if (s != Status.Ok) return s;
        Scan(text, length, null, ref raw, true, out _);
        return Status.Ok;
    }

    /// <summary>As <see cref="Parse"/>, reading only lines whose source is exactly
    /// <paramref name="source"/> (e.g. "modified", "user", or a prefix given to
    /// <see cref="BootLogWriter.Write"/>).</summary>
    public static Status ParseSource(byte* text, int length, string source, ref MemoryMap raw, out MapError error)
    {
        if (source == null || source.Length == 0)
        {
            error = MapError.Whole(Status.InvalidArgument, "empty source name");
            return error.Status;
        }
        Status s = Scan(text, length, source, ref raw, false, out error);
        if (s != Status.Ok) return s;
        Scan(text, length, source, ref raw, true, out _);
        return Status.Ok;
    }

    private static Status Scan(byte* text, int length, string source, ref MemoryMap raw, bool commit, out MapError error)
    {
        if (length < 0)
        {
            error = MapError.Whole(Status.InvalidArgument, "negative length");
            return error.Status;
        }
        int locked = -1;
        int added = 0;
        int lineNo = 0;
        int pos = 0;
        while (pos < length)
        {
            int eol = pos;
            while (eol < length && text[eol] != (byte)'\n') eol++;
            lineNo++;
            int end = eol;
            while (end > pos && (text[end - 1] == (byte)'\r' || AsciiText.IsSpace(text[end - 1]))) end--;
            Status s = ScanLine(text + pos, end - pos, lineNo, source, ref locked, ref raw, commit, ref added, out error);
            if (s != Status.Ok) return s;
            pos = eol + 1;
        }
        if (added == 0)
        {
            error = MapError.Whole(Status.EmptyMap, "no e820 table line (such as \"BIOS-e820: [mem 0x...-0x...] usable\")");
            return error.Status;
        }
        error = MapError.Ok;
        return Status.Ok;
    }

    /// <summary>Finds "SOURCE: " followed by a table body in one line (trailing blanks removed)
    /// and parses it; lines that are not table lines of the wanted source return Ok.</summary>
    private static Status ScanLine(byte* line, int len, int lineNo, string source, ref int locked,
        ref MemoryMap raw, bool commit, ref int added, out MapError error)
    {
        error = MapError.Ok;
        for (int c = 1; c + 1 < len; c++)
        {
            if (line[c] != (byte)':' || line[c + 1] != (byte)' ') continue;
            byte* body = line + c + 2;
            int bodyLen = len - c - 2;
            Form form;
            if (AsciiText.StartsWith(body, bodyLen, "[mem ")) form = Form.Mem;
            else if (AsciiText.StartsWith(body, bodyLen, "[gap ")) form = Form.Gap;
            else if (LooksClassic(body, bodyLen)) form = Form.Classic;
            else continue;

            int known = -1;
            if (source != null)
            {
                if (!SourceEndsAt(line, c, source)) continue;
            }
            else
            {
                for (int k = 0; k < KnownSourceCount && known < 0; k++)
                    if (SourceEndsAt(line, c, KnownSource(k))) known = k;
                if (known < 0) continue;
            }
            if (form == Form.Gap) return Status.Ok;
            if (source == null)
            {
                if (locked < 0) locked = known;
                else if (locked != known) return Status.Ok;
            }
            return ParseBody(body, bodyLen, form, lineNo, ref raw, commit, ref added, out error);
        }
        return Status.Ok;
    }

    /// <summary>True when line[colon - name.Length .. colon) is <paramref name="name"/> and no
    /// word character runs into it from the left.</summary>
    private static bool SourceEndsAt(byte* line, int colon, string name)
    {
        int start = colon - name.Length;
        if (start < 0 || !AsciiText.StartsWith(line + start, name.Length, name)) return false;
        if (start == 0) return true;
        byte before = line[start - 1];
        return !AsciiText.IsAlphaNumeric(before) && before != (byte)'-' && before != (byte)'_' && before != (byte)'.';
    }

    /// <summary>"0000000000000000 - ..." : hex digits, then " - ".</summary>
    private static bool LooksClassic(byte* p, int len)
    {
        int i = 0;
        while (i < len && AsciiText.HexValue(p[i]) >= 0) i++;
        return i > 0 && AsciiText.StartsWith(p + i, len - i, " - ");
    }

    private static Status ParseBody(byte* p, int len, Form form, int lineNo, ref MemoryMap raw, bool commit, ref int added, out MapError error)
    {
        ulong start, end;
        int i;
        if (form == Form.Mem)
        {
            i = 5;
            if (!AsciiText.TryHex(p, len, ref i, out start)) return LineError(Status.Malformed, lineNo, "unparsable number", out error);
            if (i >= len || p[i] != (byte)'-') return LineError(Status.Malformed, lineNo, "malformed range", out error);
            i++;
            if (!AsciiText.TryHex(p, len, ref i, out ulong last)) return LineError(Status.Malformed, lineNo, "unparsable number", out error);
            if (i >= len || p[i] != (byte)']') return LineError(Status.Malformed, lineNo, "malformed range", out error);
            i++;
            end = last == ulong.MaxValue ? ulong.MaxValue : last + 1;
        }
        else
        {
            i = 0;
            if (!AsciiText.TryHex(p, len, ref i, out start)) return LineError(Status.Malformed, lineNo, "unparsable number", out error);
            AsciiText.SkipSpaces(p, len, ref i);
            if (i >= len || p[i] != (byte)'-') return LineError(Status.Malformed, lineNo, "malformed range", out error);
            i++;
            AsciiText.SkipSpaces(p, len, ref i);
            if (!AsciiText.TryHex(p, len, ref i, out end)) return LineError(Status.Malformed, lineNo, "unparsable number", out error);
        }
        if (end < start) return LineError(Status.EndBeforeStart, lineNo, "end before start", out error);

        AsciiText.SkipSpaces(p, len, ref i);
        SkipSizeColumn(p, len, ref i);
        if (!TryParseType(p + i, len - i, out uint type)) return LineError(Status.Malformed, lineNo, "unknown type", out error);
        if (!MapAppend.Emit(ref raw, commit, ref added, start, end, (MemoryType)type))
            return LineError(Status.NoSpace, lineNo, "too many entries", out error);
        error = MapError.Ok;
        return Status.Ok;
    }

    private static Status LineError(Status status, int lineNo, string reason, out MapError error)
    {
        error = MapError.At(status, MapErrorKind.Line, lineNo, reason);
        return status;
    }

    /// <summary>Skips the human-readable size some kernels print before the type
    /// ("  639   KB", "1.9 GB"): digits, an optional fraction, blanks, KB/MB/GB/TB, blanks.
    /// Leaves i alone when the text does not have that shape.</summary>
    private static void SkipSizeColumn(byte* p, int len, ref int i)
    {
        int k = i;
        if (k >= len || !AsciiText.IsDigit(p[k])) return;
        while (k < len && AsciiText.IsDigit(p[k])) k++;
        if (k < len && p[k] == (byte)'.')
        {
            k++;
            while (k < len && AsciiText.IsDigit(p[k])) k++;
        }
        int blanks = k;
        AsciiText.SkipSpaces(p, len, ref k);
        if (k == blanks || len - k < 2) return;
        if (!(AsciiText.StartsWith(p + k, 2, "KB") || AsciiText.StartsWith(p + k, 2, "MB")
            || AsciiText.StartsWith(p + k, 2, "GB") || AsciiText.StartsWith(p + k, 2, "TB"))) return;
        k += 2;
        if (k < len && !AsciiText.IsSpace(p[k])) return;
        AsciiText.SkipSpaces(p, len, ref k);
        i = k;
    }

    /// <summary>Parses a whole type phrase (see the class summary).</summary>
    internal static bool TryParseType(byte* p, int len, out uint type)
    {
        type = 0;
        while (len > 0 && AsciiText.IsSpace(p[len - 1])) len--;
        if (len >= 2 && p[0] == (byte)'(' && p[len - 1] == (byte)')') { p++; len -= 2; }

        if (AsciiText.EqualsIgnoreCase(p, len, "usable") || AsciiText.EqualsIgnoreCase(p, len, "System RAM")
            || AsciiText.EqualsIgnoreCase(p, len, "kernel usable RAM")) { type = (uint)MemoryType.Usable; return true; }
        if (AsciiText.EqualsIgnoreCase(p, len, "reserved") || AsciiText.EqualsIgnoreCase(p, len, "device reserved"))
        { type = (uint)MemoryType.Reserved; return true; }
        if (AsciiText.EqualsIgnoreCase(p, len, "ACPI data")) { type = (uint)MemoryType.AcpiData; return true; }
        if (AsciiText.EqualsIgnoreCase(p, len, "ACPI NVS")) { type = (uint)MemoryType.AcpiNvs; return true; }
        if (AsciiText.EqualsIgnoreCase(p, len, "unusable")) { type = (uint)MemoryType.Unusable; return true; }
        if (AsciiText.EqualsIgnoreCase(p, len, "soft reserved")) { type = (uint)MemoryType.SoftReserved; return true; }

        int i;
        bool closing;
        if (AsciiText.StartsWith(p, len, "type ")) { i = 5; closing = false; }
        else if (AsciiText.StartsWith(p, len, "persistent (type ")) { i = 17; closing = true; }
        else if (AsciiText.StartsWith(p, len, "persistent RAM (type ")) { i = 21; closing = true; }
        else return false;
        if (!AsciiText.TryDecimal(p, len, ref i, uint.MaxValue, out ulong n)) return false;
        if (closing)
        {
            if (i >= len || p[i] != (byte)')') return false;
            i++;
        }
        if (i != len) return false;
        type = (uint)n;
        return true;
    }
}
