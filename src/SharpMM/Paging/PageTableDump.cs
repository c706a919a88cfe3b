using SharpMM.Addressing;
using SharpMM.Diagnostics;

namespace SharpMM.Paging;

/// <summary>
/// Text reports of an address space, allocation-free through <see cref="TextWriter{TSink}"/>
/// (the same code prints hosted and on the kernel's serial port).
///
/// <c>Write</c> walks every leaf in ascending virtual order and merges neighbours that
/// are contiguous in virtual space, have the same page size and the same flags (Accessed and
/// Dirty are left out, as Linux's ptdump masks them: <see cref="LeafRun"/>) into one line per run; physical contiguity
/// is not required. Columns: range, run size, page size, then USR, RW/ro, NX/x, GLB, PWT, PCD.
/// USR, RW and x are the effective rights (the leaf's ANDed with every entry of its walk, as the
/// MMU grants them: a page table seen through a supervisor-only recursive slot is not USR even
/// though its entries, read as PTEs, have U/S set):
/// <code>
///   x86-64 4-level, root 0x0000000000001000
///   0x0000000000400000-0x0000000000600000      2M  4K  USR ro x
///   0xffff888000000000-0xffff888040000000      1G  1G      RW NX GLB
///   tables: PML4 1, PDPT 2, PD 1, PT 1 (20 KiB); leaves: 4K 512, 1G 1
/// </code>
/// <see cref="WriteWalk"/> prints the walk for one address, one line per level: table name,
/// index, table address, entry value and the names of the bits set in it, then the page and
/// the rights the whole walk grants.
/// Reserved windows (the recursive slot) are not listed.
/// </summary>
public static class PageTableDump
{
    /// <summary>Writes the merged mapping list of <paramref name="mapper"/>, a header and a
    /// table/leaf summary.</summary>
    public static void Write<TFormat, TAccess, TSink>(ref Mapper<TFormat, TAccess> mapper, ref TextWriter<TSink> w)
        where TFormat : struct, IPagingFormat where TAccess : struct, ITableAccess where TSink : struct, ITextSink =>
        Write(ref mapper, ref w, default(NoDumpSections));

    /// <summary>The same with ptdump's section markers ("---[ Kernel Mapping ]---") before the
    /// first run of each section; runs never merge across a section start, and sections with
    /// nothing mapped still print their marker, as Linux's do.</summary>
    public static void Write<TFormat, TAccess, TSink, TSections>(ref Mapper<TFormat, TAccess> mapper, ref TextWriter<TSink> w, TSections sections)
        where TFormat : struct, IPagingFormat where TAccess : struct, ITableAccess where TSink : struct, ITextSink
        where TSections : struct, IDumpSections
    {
        w.Str(TFormat.Name);
        w.Str(", root ");
        w.Hex(mapper.RootPhys, PhysDigits<TFormat>());
        w.Line();
        var runs = new RunWriter<TFormat, TSink, TSections> { Writer = w, Sections = sections };
        mapper.Visit(ref runs);
        runs.Finish();
        runs.MarkersUpTo(ulong.MaxValue);
        w = runs.Writer;
        TableCensus census = runs.Census;
        w.Str("tables:");
        bool anyTable = false;
        for (int level = TFormat.Levels - 1; level >= 0; level--)
        {
            if (census.Tables(level) == 0) continue;
            w.Str(anyTable ? ", " : " ");
            w.Str(TFormat.LevelName(level));
            w.Char(' ');
            w.Dec(census.Tables(level));
            anyTable = true;
        }
        w.Str(" (");
        w.Size(census.TotalTables * PageSize.Bytes);
        w.Str("); leaves:");
        bool anyLeaf = false;
        for (int level = 0; level < TFormat.Levels; level++)
        {
            if (census.Leaves(level) == 0) continue;
            w.Str(anyLeaf ? ", " : " ");
            WriteSize(ref w, 1UL << TFormat.IndexShift(level));
            w.Char(' ');
            w.Dec(census.Leaves(level));
            anyLeaf = true;
        }
        if (!anyLeaf) w.Str(" none");
        w.Line();
    }

    /// <summary>Writes the walk of <paramref name="va"/>: each level's entry and its decoded
    /// bits, then the result.</summary>
    public static void WriteWalk<TFormat, TAccess, TSink>(ref Mapper<TFormat, TAccess> mapper, VirtAddr va, ref TextWriter<TSink> w)
        where TFormat : struct, IPagingFormat where TAccess : struct, ITableAccess where TSink : struct, ITextSink
    {
        int vaDigits = VaDigits<TFormat>(), paDigits = PhysDigits<TFormat>();
        PageWalk walk = mapper.Walk(va);
        w.Str("walk ");
        w.Hex(va.Value, vaDigits);
        w.Str(" (");
        w.Str(TFormat.Name);
        w.Str(", root ");
        w.Hex(mapper.RootPhys, paDigits);
        w.Line(")");
        if (walk.Result == Status.InvalidArgument)
        {
            w.Line("  not a canonical address");
            return;
        }
        for (int i = 0; i < walk.Count; i++)
        {
            WalkStep s = walk[i];
            w.Str("  ");
            w.StrPad(TFormat.LevelName(s.Level), 4);
            w.Char('[');
            w.DecPad((ulong)s.Index, TFormat.EntriesPerTable(s.Level) > 512 ? 4 : 3);
            w.Str("] @");
            w.Hex(s.TablePhys, paDigits);
            w.Str(" = ");
            w.Hex(s.Entry, TFormat.EntrySize * 2);
            if (!TFormat.IsPresent(s.Entry))
            {
                w.Line("  not present");
                continue;
            }
            w.Char(' ');
            string previous = null;
            for (int bit = 0; bit < 64; bit++)
            {
                if ((s.Entry & (1UL << bit)) == 0) continue;
                string name = TFormat.BitName(s.Level, s.Entry, bit);
                if (name == null || (object)name == (object)previous) continue; // a multi-bit field prints once
                w.Char(' ');
                w.Str(name);
                previous = name;
            }
            w.Str(TFormat.IsLeaf(s.Level, s.Entry) ? "  -> page " : "  -> table ");
            w.Hex(TFormat.Address(s.Level, s.Entry), paDigits);
            w.Line();
        }
        if (walk.Result != Status.Ok)
        {
            w.Line("  => not mapped");
            return;
        }
        mapper.Translate(va, out Translation t);
        // The rights the MMU grants: the leaf's, ANDed with every pointer entry's on the way.
        PageFlags allowed = LeafMapping.WalkRights;
        for (int i = 0; i + 1 < walk.Count; i++) allowed &= TFormat.PointerRights(walk[i].Level, walk[i].Entry);
        w.Str("  => ");
        w.Hex(t.Phys.Value, paDigits);
        w.Str("  ");
        WriteSize(ref w, 1UL << (int)t.Size);
        w.Str(" page ");
        WriteFlags(ref w, LeafMapping.Restrict(t.Flags, allowed));
        w.Line();
    }

    /// <summary>Writes a power-of-two-friendly size the way ptdump does: the largest of
    /// K, M, G, T that divides it ("4K", "12K", "2M", "1G").</summary>
    public static void WriteSize<TSink>(ref TextWriter<TSink> w, ulong bytes) where TSink : struct, ITextSink
    {
        ulong v = bytes >> 10;
        int unit = 0;
        while (unit < 3 && v != 0 && (v & 1023) == 0) { v >>= 10; unit++; }
        w.Dec(v);
        w.Char(unit switch { 0 => 'K', 1 => 'M', 2 => 'G', _ => 'T' });
    }

    /// <summary>Writes the flag columns (USR, RW/ro, NX/x, GLB, PWT, PCD), with no trailing blanks.</summary>
    public static void WriteFlags<TSink>(ref TextWriter<TSink> w, PageFlags flags) where TSink : struct, ITextSink
    {
        int pending = 0;
        Column(ref w, ref pending, (flags & PageFlags.User) != 0 ? "USR" : null, 3);
        Column(ref w, ref pending, (flags & PageFlags.Writable) != 0 ? "RW" : "ro", 2);
        Column(ref w, ref pending, (flags & PageFlags.Executable) != 0 ? "x" : "NX", 2);
        Column(ref w, ref pending, (flags & PageFlags.Global) != 0 ? "GLB" : null, 3);
        Column(ref w, ref pending, (flags & PageFlags.WriteThrough) != 0 ? "PWT" : null, 3);
        Column(ref w, ref pending, (flags & PageFlags.CacheDisable) != 0 ? "PCD" : null, 3);
    }

    // A blank column only becomes spaces when something follows it.
    private static void Column<TSink>(ref TextWriter<TSink> w, ref int pending, string text, int width) where TSink : struct, ITextSink
    {
        if (text == null) { pending += width + 1; return; }
        w.Spaces(pending);
        w.Str(text);
        pending = width - text.Length + 1;
    }

    internal static int VaDigits<TFormat>() where TFormat : struct, IPagingFormat => TFormat.VirtualBits > 32 ? 16 : 8;
    internal static int PhysDigits<TFormat>() where TFormat : struct, IPagingFormat => TFormat.EntrySize == 8 ? 16 : 10;

    // Merges leaves into runs and prints one line per run.
    private struct RunWriter<TFormat, TSink, TSections> : IPageTableVisitor
        where TFormat : struct, IPagingFormat where TSink : struct, ITextSink where TSections : struct, IDumpSections
    {
        public TextWriter<TSink> Writer;
        public TableCensus Census;
        public TSections Sections;
        private int _nextSection;

        // Prints the marker of every section that starts at or below va and was not printed.
        public void MarkersUpTo(ulong va)
        {
            while (_nextSection < Sections.Count && Sections.Start(_nextSection) <= va)
            {
                Writer.Str("---[ ");
                Writer.Str(Sections.Name(_nextSection));
                Writer.Line(" ]---");
                _nextSection++;
            }
        }
        private bool _open;
        private LeafRun _run;

        public void Table(int level, ulong firstVa, ulong tablePhys) => Census.Table(level, firstVa, tablePhys);

        public void Leaf(in LeafMapping m)
        {
            Census.Leaf(m);
            ulong start = m.Start.Value;
            bool sectionStarts = _nextSection < Sections.Count && Sections.Start(_nextSection) <= start;
            if (_open && !sectionStarts && _run.TryExtend(m)) return;
            Finish();
            MarkersUpTo(start);
            _open = true;
            _run = LeafRun.Of(m);
        }

        public void Finish()
        {
            if (!_open) return;
            _open = false;
            int digits = VaDigits<TFormat>();
            Writer.Hex(_run.Start, digits);
            Writer.Char('-');
            // The end is exclusive; a run that ends the address space ends at 2^32 or 2^64, one
            // digit wider than the column, which the padding before the size gives back.
            int wider = 0;
            if (_run.Last == ulong.MaxValue || (digits == 8 && _run.Last == uint.MaxValue))
            {
                Writer.Str("0x1");
                for (int i = 0; i < digits; i++) Writer.Char('0');
                wider = 1;
            }
            else Writer.Hex(_run.Last + 1, digits);
            // Right-align the run size in 8 columns.
            ulong bytes = _run.Bytes;
            var probe = new TextWriter<CountingSink>(default);
            WriteSize(ref probe, bytes);
            Writer.Spaces(8 - wider - probe.Sink.Count);
            WriteSize(ref Writer, bytes);
            Writer.Spaces(2); // every page size prints in two characters: 4K 2M 4M 1G
            WriteSize(ref Writer, 1UL << (int)_run.Size);
            Writer.Str("  ");
            WriteFlags(ref Writer, _run.Flags);
            Writer.Line();
        }
    }

    private struct CountingSink : ITextSink
    {
        public int Count;
        public void Put(byte c) => Count++;
    }
}
