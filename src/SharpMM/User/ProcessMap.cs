using SharpMM.Diagnostics;
using SharpMM.Paging;

namespace SharpMM.User;

/// <summary>
/// A user address space's regions as procps `pmap -x` lists a process: one line per region
/// with its size, resident and dirty kilobytes (counted from the level-0 entries), its rights
/// and what backs it, then the totals.
/// <code>
///   Address           Kbytes     RSS   Dirty Mode  Mapping
///   0000000000400000      64      64      64 rw--- [ anon ]
///   00007ffffffef000      68       8       8 rw--- [ stack ]
///   ---------------- ------- ------- -------
///   total kB             132      72      72
/// </code>
/// Mode is r, w, x, s for a shared region (MAP_SHARED anonymous memory) and '-' (pmap's
/// noreserve column; nothing here is). Mapping names the region kind: [ anon ], [ stack ],
/// [ store ] (a persistent region's pages), [ device ], [ shared ], [ file ] (a private file
/// mapping). Pages out in the store count in neither RSS nor Dirty, as in Linux.
/// </summary>
public static unsafe class ProcessMap
{
    /// <summary>Writes the listing of <paramref name="space"/>.</summary>
    public static void Write<TFormat, TSink>(ref TextWriter<TSink> w, in AddressSpace<TFormat> space)
        where TFormat : struct, IPagingFormat where TSink : struct, ITextSink
    {
        var counts = new RegionCounts<TFormat> { Regions = space.Regions };
        space.VisitEntries(ref counts);
        int digits = TFormat.VirtualBits > 32 ? 16 : 8;
        w.Str("Address"); w.Spaces(digits - 7); w.Line("   Kbytes     RSS   Dirty Mode  Mapping");
        ulong size = 0, rss = 0, dirty = 0;
        for (int i = 0; i < space.Regions.Count; i++)
        {
            Vma v = space.Regions[i];
            w.HexDigits(v.Start, digits);
            w.Char(' '); w.DecPad(v.Bytes >> 10, 8);
            w.Char(' '); w.DecPad(counts.Resident[i] * 4, 7);
            w.Char(' '); w.DecPad(counts.Dirty[i] * 4, 7);
            w.Char(' ');
            w.Char((v.Protection & VmaProtection.Read) != 0 ? 'r' : '-');
            w.Char((v.Protection & VmaProtection.Write) != 0 ? 'w' : '-');
            w.Char((v.Protection & VmaProtection.Execute) != 0 ? 'x' : '-');
            w.Char(v.Kind == VmaKind.Shared ? 's' : '-');
            w.Str("- ");
            w.Line(v.Kind switch
            {
                VmaKind.Stack => "[ stack ]",
                VmaKind.StoreBacked => "[ store ]",
                VmaKind.Device => "[ device ]",
                VmaKind.Shared => "[ shared ]",
                VmaKind.File => "[ file ]",
                _ => "[ anon ]",
            });
            size += v.Bytes >> 10;
            rss += counts.Resident[i] * 4;
            dirty += counts.Dirty[i] * 4;
        }
        for (int i = 0; i < digits; i++) w.Char('-');
        w.Line(" ------- ------- -------");
        w.Str("total kB"); w.Spaces(digits - 8);
        w.Char(' '); w.DecPad(size, 8);
        w.Char(' '); w.DecPad(rss, 7);
        w.Char(' '); w.DecPad(dirty, 7);
        w.Line();
    }

    // Present and dirty leaves per region; entries and regions both come in address order.
    private struct RegionCounts<TFormat> : IUserEntryVisitor where TFormat : struct, IPagingFormat
    {
        public VmaSet Regions;
        public fixed ulong Resident[VmaSet.Capacity];
        public fixed ulong Dirty[VmaSet.Capacity];
        private int _at;

        public void Entry(ulong va, ulong entry)
        {
            if (!TFormat.IsPresent(entry)) return;
            while (_at < Regions.Count && Regions[_at].End <= va) _at++;
            if (_at == Regions.Count || !Regions[_at].Contains(va)) return;
            Resident[_at]++;
            if ((TFormat.Flags(0, entry) & PageFlags.Dirty) != 0) Dirty[_at]++;
        }
    }
}
