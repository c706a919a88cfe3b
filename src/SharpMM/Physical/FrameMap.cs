using System;
using System.Runtime.CompilerServices;
using SharpMM.Addressing;

namespace SharpMM.Physical;

/// <summary>
/// The frame table: one descriptor per frame of RAM, shared by every layer (Linux's struct page
/// array, SerenityOS's PhysicalPageEntry), plus the buddy allocator's pair bitmaps, kept per
/// 256 MiB section and only for sections that hold RAM, so metadata is sized by the RAM
/// present, not by the highest physical address.
///
/// A descriptor is 9 bytes in two parallel arrays: a state byte (<see cref="FrameInfo"/>: state
/// and block order, written by the buddy allocator, and the bit that says the word is an owner's)
/// and an 8-byte word that holds the free-list links (<see cref="FrameLinks"/>) while the frame
/// heads a free block and the owner word (<see cref="FrameOwner"/>: the heap's slab descriptor
/// or large-block mark, a user page's mapping count and swap slot) once the frame's owner has
/// written it. The two are apart because every free
/// reads the state byte to validate the caller's frame, and a dense byte array stays in cache
/// where a wider descriptor array does not (see <see cref="FrameInfo"/>).
///
/// <code>
///   section table: one 32-byte entry per 256 MiB of address space below the highest RAM
///   +-----------+-----------+---------+----+---------+
///   | LinkBase  | InfoBase  | Ordinal | Lo | Hi      |   entry s covers frames [s*65536, (s+1)*65536)
///   +-----------+-----------+---------+----+---------+   metadata exists for frames [Lo, Hi) only
///
///   one metadata block: [ section table | links/owner words, packed in frame order (8 B/frame)
///                         | state bytes, packed likewise (1 B/frame)
///                         | pair bits of order 0 for present sections 0,1,2.. | order 1 | ... | order 9 ]
/// </code>
///
/// Bases are biased (array - Lo), so a lookup is one load and one add: links(pfn) =
/// section[pfn >> 15].LinkBase + pfn. Because the arrays are packed in frame order, sections that
/// follow each other without a gap get the same biased base: a run of such sections can be
/// addressed with no table lookup at all (<see cref="TryDenseRun"/>), which is what the buddy
/// allocator does for every zone whose RAM has no section-sized hole.
///
/// Pair bits (Linux 2.4's free_area map): for order o (0..9) one bitmap holding 2^(15-o) bits
/// per present section, in the order of the sections (the section's Ordinal); bit
/// (pfn mod 65536) >> (o + 1) of a section's slice is 1 when exactly one of the two buddies is a
/// free block of order o. Slices are whole 64-bit words (2^(15-o) >= 64), so across a dense run
/// the bit for any frame is simply (pfn >> (o + 1)) from a per-order biased base, as in a flat
/// per-order bitmap.
///
/// Cost: 9 bytes per frame spanned by RAM within a section, 8 KiB of pair bits per section with
/// RAM, 32 bytes per 256 MiB of address space (2 MiB at the 16 TiB limit of <see cref="Pfn.ManagedLimit"/>).
/// </summary>
public unsafe struct FrameMap
{
    /// <summary>log2 of frames per section (65536 frames = 256 MiB).</summary>
    public const int SectionShift = 16;
    /// <summary>Frames per section.</summary>
    public const uint SectionFrames = 1u << SectionShift;
    /// <summary>Orders that have pair bits (0..9; order 10 blocks have no buddy to merge with).</summary>
    public const int PairOrders = 10;
    /// <summary>64-bit words of order-<paramref name="order"/> pair bits per section.</summary>
    public static ulong PairWords(int order) => (SectionFrames >> (order + 1)) / 64;

    /// <summary>One section's metadata pointers and span.</summary>
    public struct Section
    {
        /// <summary>Words (list links or owner word) minus Lo (biased; valid for frames in [Lo, Hi)).</summary>
        public FrameLinks* LinkBase;
        /// <summary>State bytes minus Lo (biased).</summary>
        public byte* InfoBase;
        /// <summary>1 + the section's index among present sections; 0 when it holds no RAM.</summary>
        public uint Ordinal;
        /// <summary>First frame with metadata.</summary>
        public uint Lo;
        /// <summary>One past the last frame with metadata. 64-bit: the last section below
        /// <see cref="Pfn.ManagedLimit"/> ends at frame 2^32, which a uint would wrap to 0.</summary>
        public ulong Hi;
    }

    private Section* _sections;
    // The longest run of frames that one pair of biased bases addresses (TryDenseRun's
    // condition, found at Build): owner-word lookups of untrusted frames there need one range
    // test and no section lookup (kfree's pointer-to-slab step). Empty when no section holds RAM.
    private FrameLinks* _denseLinks;
    private byte* _denseInfo;
    private ulong _denseLo, _denseFrames;
    private fixed ulong _pairs[PairOrders]; // per-order bitmap addresses
    private uint _sectionCount;
    private ulong _metadataBytes;
    private PhysAddr _metadataPhys;

    /// <summary>One past the highest frame that may have metadata.</summary>
    public readonly ulong EndPfn => (ulong)_sectionCount << SectionShift;

    /// <summary>Bytes of metadata allocated (section table, words, states, bitmaps).</summary>
    public readonly ulong MetadataBytes => _metadataBytes;

    /// <summary>Physical address of the single metadata block.</summary>
    public readonly PhysAddr MetadataPhys => _metadataPhys;

    /// <summary>Number of section-table entries.</summary>
    public readonly uint SectionCount => _sectionCount;

    /// <summary>Section <paramref name="s"/> (no check).</summary>
    public readonly Section* SectionAt(uint s) => _sections + s;

    /// <summary>
    /// Builds the map for the RAM in <paramref name="ram"/> (sorted, non-overlapping, page-aligned
    /// ranges, all below frame <see cref="Pfn.ManagedLimit"/>), taking one zeroed block of
    /// metadata from <paramref name="meta"/>. Every frame starts <see cref="FrameState.Reserved"/>.
    /// Return: Ok; InvalidArgument for no ranges, or unsorted, empty or out-of-limit ones;
    /// Misaligned for a range that is not page-aligned; OutOfMemory when the metadata does not
    /// fit (nothing allocated then).
    /// </summary>
    public static Status Build<TMeta>(ref TMeta meta, ReadOnlySpan<PhysRange> ram, out FrameMap map)
        where TMeta : struct, IMetadataAllocator
    {
        map = default;
        Status measured = Measure(ram, out Sizes z);
        if (measured != Status.Ok) return measured;
        uint sectionCount = z.SectionCount;
        ulong present = z.PresentSections, tableBytes = z.TableBytes, linkBytes = z.LinkBytes, infoBytes = z.InfoBytes;
        ulong bytes = z.TotalBytes;
        if (meta.AllocateMetadata(bytes, 4096, out byte* block, out PhysAddr phys) != Status.Ok) return Status.OutOfMemory;

        // Pass 2: carve.
        ulong f = 0, p = 0;
        Walk(ram, (Section*)block, ref f, ref p, (FrameLinks*)(block + tableBytes), block + tableBytes + linkBytes);
        ulong* bits = (ulong*)(block + tableBytes + linkBytes + infoBytes);
        for (int o = 0; o < PairOrders; o++)
        {
            map._pairs[o] = (ulong)bits;
            bits += present * PairWords(o);
        }
        map._sections = (Section*)block;
        map._sectionCount = sectionCount;
        map._metadataBytes = bytes;
        map._metadataPhys = phys;
        map.FindLongestDenseRun();
        return Status.Ok;
    }

    // Sets the dense run (see _denseLinks): the longest run of present sections in which each
    // section after the first starts at its section boundary right where the one before ends,
    // with the same biased bases (the arrays are packed in frame order, so touching sections
    // share them).
    private void FindLongestDenseRun()
    {
        ulong bestLo = 0, bestFrames = 0, runLo = 0;
        Section* run = null;
        for (uint s = 0; s < _sectionCount; s++)
        {
            Section* sec = _sections + s;
            if (sec->Ordinal == 0) { run = null; continue; }
            bool continues = run != null && _sections[s - 1].Hi == sec->Lo && sec->Lo == (ulong)s << SectionShift
                             && sec->LinkBase == run->LinkBase && sec->InfoBase == run->InfoBase;
            if (!continues) { run = sec; runLo = sec->Lo; }
            if (sec->Hi - runLo > bestFrames) { bestLo = runLo; bestFrames = sec->Hi - runLo; }
        }
        if (bestFrames == 0) return;
        Section* first = _sections + (bestLo >> SectionShift);
        _denseLinks = first->LinkBase;
        _denseInfo = first->InfoBase;
        _denseLo = bestLo;
        _denseFrames = bestFrames;
    }

    /// <summary>
    /// The bytes of metadata <see cref="Build"/> takes for these ranges (same rules), so a host can
    /// refuse a machine whose bookkeeping it cannot afford before any of it is allocated.
    /// Return: the byte count; 0 for ranges Build would refuse as InvalidArgument.
    /// </summary>
    public static ulong MetadataBytesFor(ReadOnlySpan<PhysRange> ram) =>
        Measure(ram, out Sizes z) == Status.Ok ? z.TotalBytes : 0;

    private struct Sizes
    {
        public uint SectionCount;
        public ulong PresentSections, TableBytes, LinkBytes, InfoBytes, PairBytes;
        public readonly ulong TotalBytes => TableBytes + LinkBytes + InfoBytes + PairBytes;
    }

    // Validates the ranges (Build's Return rules) and counts frames spanned and sections present
    // (pass 1), so one allocation serves all.
    private static Status Measure(ReadOnlySpan<PhysRange> ram, out Sizes z)
    {
        z = default;
        if (ram.Length == 0) return Status.InvalidArgument;
        ulong prevEnd = 0;
        for (int i = 0; i < ram.Length; i++)
        {
            if (((ram[i].Start | ram[i].End) & PageSize.OffsetMask) != 0) return Status.Misaligned;
            ulong s = ram[i].Start >> PageSize.Shift, e = ram[i].End >> PageSize.Shift;
            if (e <= s || s < prevEnd || e > Pfn.ManagedLimit) return Status.InvalidArgument;
            prevEnd = e;
        }
        z.SectionCount = (uint)((prevEnd + SectionFrames - 1) >> SectionShift);
        ulong frames = 0, present = 0;
        Walk(ram, null, ref frames, ref present, null, null);
        z.PresentSections = present;
        z.TableBytes = Align64((ulong)z.SectionCount * (ulong)sizeof(Section));
        z.LinkBytes = Align64(frames * (ulong)sizeof(FrameLinks));
        z.InfoBytes = Align64(frames);
        ulong pairWords = 0;
        for (int o = 0; o < PairOrders; o++) pairWords += present * PairWords(o);
        z.PairBytes = pairWords * 8;
        return Status.Ok;
    }

    private static ulong Align64(ulong v) => (v + 63) & ~63UL;

    // Visits each section's span [lo, hi) (min start, max end of the ranges inside it), counting
    // frames and sections; with a table it also assigns the packed arrays.
    private static void Walk(ReadOnlySpan<PhysRange> ram, Section* table, ref ulong frames, ref ulong present,
                             FrameLinks* links, byte* infos)
    {
        uint current = uint.MaxValue;
        ulong lo = 0, hi = 0;
        for (int i = 0; i < ram.Length; i++)
        {
            ulong s = ram[i].Start >> PageSize.Shift, e = ram[i].End >> PageSize.Shift;
            while (s < e)
            {
                uint sec = (uint)(s >> SectionShift);
                ulong secEnd = ((ulong)sec + 1) << SectionShift;
                ulong pieceEnd = e < secEnd ? e : secEnd;
                if (sec != current)
                {
                    if (current != uint.MaxValue) Place(table, current, lo, hi, ref frames, ref present, links, infos);
                    current = sec; lo = s;
                }
                hi = pieceEnd;
                s = pieceEnd;
            }
        }
        if (current != uint.MaxValue) Place(table, current, lo, hi, ref frames, ref present, links, infos);
    }

    private static void Place(Section* table, uint sec, ulong lo, ulong hi, ref ulong frames, ref ulong present,
                              FrameLinks* links, byte* infos)
    {
        if (table != null)
        {
            Section* entry = table + sec;
            entry->LinkBase = links + frames - lo;
            entry->InfoBase = infos + frames - lo;
            entry->Ordinal = (uint)(present + 1);
            entry->Lo = (uint)lo;
            entry->Hi = hi;
        }
        frames += hi - lo;
        present++;
    }

    /// <summary>
    /// When frames [startPfn, endPfn) all have metadata and lie in consecutive sections packed
    /// without a gap, returns true with bases that address them directly: links = linkBase + pfn,
    /// info = infoBase + pfn, order-o pair bit = bit (pfn >> (o + 1)) of pairBases[o].
    /// </summary>
    public readonly bool TryDenseRun(ulong startPfn, ulong endPfn, out FrameLinks* linkBase, out byte* infoBase, ulong** pairBases)
    {
        linkBase = null; infoBase = null;
        if (endPfn <= startPfn || endPfn > EndPfn) return false;
        uint first = (uint)(startPfn >> SectionShift), last = (uint)((endPfn - 1) >> SectionShift);
        Section* s0 = _sections + first;
        if (s0->Ordinal == 0 || startPfn < s0->Lo) return false;
        for (uint s = first; s <= last; s++)
        {
            Section* sec = _sections + s;
            if (sec->Ordinal != (ulong)s0->Ordinal + (s - first) || sec->LinkBase != s0->LinkBase || sec->InfoBase != s0->InfoBase) return false;
            ulong expectLo = s == first ? s0->Lo : (ulong)s << SectionShift;
            ulong expectHi = s == last ? endPfn : ((ulong)s + 1) << SectionShift;
            if (sec->Lo != expectLo || sec->Hi < expectHi) return false;
        }
        linkBase = s0->LinkBase;
        infoBase = s0->InfoBase;
        // Section `first` has slice index Ordinal-1: bit(pfn) = (Ordinal-1-first) * perSection + (pfn >> (o+1)).
        long shift = (long)(s0->Ordinal - 1) - first;
        for (int o = 0; o < PairOrders; o++) pairBases[o] = (ulong*)_pairs[o] + shift * (long)PairWords(o);
        return true;
    }

    /// <summary>The links of a frame known to have metadata (no check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly FrameLinks* Links(uint pfn) => _sections[pfn >> SectionShift].LinkBase + pfn;

    /// <summary>The state byte of a frame known to have metadata (no check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly byte* Info(uint pfn) => _sections[pfn >> SectionShift].InfoBase + pfn;

    /// <summary>The state byte of an untrusted frame number, or null when it has no metadata.</summary>
    public readonly byte* TryInfo(ulong pfn)
    {
        if (pfn >= EndPfn) return null;
        Section* s = _sections + (pfn >> SectionShift);
        if (s->Ordinal == 0 || pfn < s->Lo || pfn >= s->Hi) return null;
        return s->InfoBase + pfn;
    }

    /// <summary>True when frame <paramref name="pfn"/> has metadata.</summary>
    public readonly bool HasMetadata(Pfn pfn) => TryInfo(pfn.Value) != null;

    /// <summary>The state of frame <paramref name="pfn"/> (Reserved for frames without metadata).</summary>
    public readonly FrameState StateOf(Pfn pfn)
    {
        byte* info = TryInfo(pfn.Value);
        return info == null ? FrameState.Reserved : FrameInfo.State(*info);
    }

    /// <summary>
    /// True when frame <paramref name="pfn"/> is free: the head of a free block, a frame in a
    /// per-CPU cache, or a tail of a free block (blocks are naturally aligned, so the block
    /// holding a tail starts at the first frame that is not a tail among the frame rounded down
    /// to 2, 4, .. 1024 frames). False for frames without metadata.
    /// </summary>
    public readonly bool IsFree(Pfn pfn)
    {
        byte* info = TryInfo(pfn.Value);
        if (info == null) return false;
        FrameState st = FrameInfo.State(*info);
        for (int o = 1; st == FrameState.Tail && o <= 10; o++)
        {
            byte* head = TryInfo(pfn.Value & ~((1UL << o) - 1));
            if (head == null) return false;
            st = FrameInfo.State(*head);
        }
        return st == FrameState.Free || st == FrameState.PerCpu;
    }

    /// <summary>Claims the owner word of a frame known to have metadata (no check; see
    /// <see cref="FrameOwner"/>) and returns it: marks the word as the owner's
    /// (<see cref="FrameInfo.Owned"/>), so that <see cref="TryOwnerWord"/> reads it from now on.
    /// Only the frame's owner may call this, once, when the frame becomes its own (a slab, a
    /// large block, a user page), and it must write the word before anything reads it (until
    /// then the word may hold old list links). Later accesses go through
    /// <see cref="OwnerWord"/>, which does not write the state byte again.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong* ClaimOwnerWord(uint pfn)
    {
        Section* s = _sections + (pfn >> SectionShift);
        s->InfoBase[pfn] |= FrameInfo.Owned;
        return (ulong*)(s->LinkBase + pfn);
    }

    /// <summary>The owner word of a frame its owner has claimed (<see cref="ClaimOwnerWord"/>),
    /// to read or update (no check: the frame must have metadata and be the caller's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong* OwnerWord(uint pfn) => (ulong*)Links(pfn);

    /// <summary>True when frame <paramref name="pfn"/> has metadata and its owner word is
    /// claimed (<see cref="FrameInfo.Owned"/>). For checks.</summary>
    public readonly bool IsOwned(Pfn pfn)
    {
        byte* info = TryInfo(pfn.Value);
        return info != null && *info >= FrameInfo.Owned;
    }

    /// <summary>Ends the owner word of a frame known to have metadata: from now on
    /// <see cref="TryOwnerWord"/> says "no owner". Its owner calls this before giving the frame
    /// back (the frame allocator refuses to free a block whose first frame is still marked).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void ReleaseOwnerWord(uint pfn) => *Info(pfn) &= unchecked((byte)~FrameInfo.Owned);

    /// <summary>
    /// The owner word of an untrusted frame number (a pointer handed to kfree, say). Return:
    /// true and the word, 0 (no owner) unless an owner has written it
    /// (<see cref="FrameInfo.Owned"/>); false when the frame has no metadata or heads a free block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool TryOwnerWord(Pfn frame, out ulong word)
    {
        ulong pfn = frame.Value;
        word = 0;
        byte* infoAt;
        FrameLinks* linksAt;
        // Within the dense run, one range test; elsewhere the section decides (out of line).
        if (pfn - _denseLo < _denseFrames) { infoAt = _denseInfo + pfn; linksAt = _denseLinks + pfn; }
        else
        {
            infoAt = TryInfoOutsideDenseRun(pfn);
            if (infoAt == null) return false;
            linksAt = Links((uint)pfn);
        }
        uint info = *infoAt;
        // Unmarked, the word may hold links left from the frame's time on a free list: no owner
        // (or, for the head of a free block, not an owner's frame at all). A branch rather than
        // a mask, so that using the word need not wait for the state byte.
        if (info < FrameInfo.Owned) return FrameInfo.State((byte)info) != FrameState.Free;
        word = *(ulong*)linksAt;
        return true;
    }

    /// <summary>
    /// The owner word of an untrusted frame number as one value: what <see cref="TryOwnerWord"/>
    /// gives, 0 whenever it finds no owner word. For lookups in which 0 already means "not
    /// mine" (kfree's pointer-to-slab step): no out parameter and no second answer, so the
    /// caller's copy is a range test, two loads and a select, small enough to inline.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong OwnerWordOrNone(Pfn frame)
    {
        ulong pfn = frame.Value;
        if (pfn - _denseLo < _denseFrames) return _denseInfo[pfn] >= FrameInfo.Owned ? *(ulong*)(_denseLinks + pfn) : 0;
        return OwnerWordOutsideDenseRun(pfn);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly ulong OwnerWordOutsideDenseRun(ulong pfn)
    {
        TryOwnerWord(Pfn.NewUnchecked(pfn), out ulong word);
        return word;
    }

    // TryInfo as a call, so that TryOwnerWord's inlined fast path stays small.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly byte* TryInfoOutsideDenseRun(ulong pfn) => TryInfo(pfn);

    /// <summary>The order-<paramref name="order"/> pair word and bit of a managed frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ulong* PairWord(uint pfn, uint order, out ulong mask)
    {
        ulong slice = (ulong)_sections[pfn >> SectionShift].Ordinal - 1;
        ulong bit = (slice << (int)(SectionShift - 1 - order)) + ((pfn & (SectionFrames - 1)) >> (int)(order + 1));
        mask = 1UL << (int)(bit & 63);
        return (ulong*)_pairs[(int)order] + (bit >> 6);
    }

    /// <summary>Flips the pair bit of the order-<paramref name="order"/> block at
    /// <paramref name="pfn"/> and its buddy; returns the new value. Order must be below 10.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool TogglePair(uint pfn, uint order)
    {
        ulong* w = PairWord(pfn, order, out ulong mask);
        ulong v = *w ^ mask;
        *w = v;
        return (v & mask) != 0;
    }

    /// <summary>Flips bit <paramref name="bit"/> of <paramref name="words"/>; returns the new value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Toggle(ulong* words, ulong bit)
    {
        ulong mask = 1UL << (int)(bit & 63);
        ulong w = words[bit >> 6] ^ mask;
        words[bit >> 6] = w;
        return (w & mask) != 0;
    }

    /// <summary>Reads the pair bit (for validators).</summary>
    public readonly bool PairBit(uint pfn, uint order)
    {
        ulong* w = PairWord(pfn, order, out ulong mask);
        return (*w & mask) != 0;
    }
}
