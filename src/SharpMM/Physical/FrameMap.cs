using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Boot;

namespace SharpMM.Physical;

/// <summary>
/// Sparse frame metadata: frame descriptors and buddy pair bitmaps, kept per 128 MiB section and
/// only for sections that hold RAM, so metadata is sized by the RAM present, not by the highest
/// physical address.
///
/// <code>
///   section table (one 24-byte entry per 128 MiB of address space below the highest RAM)
///   +-----------------+------------+----+----+
///   | DescBase        | PairBits   | Lo | Hi |   entry s covers frames [s*32768, (s+1)*32768)
///   +-----------------+------------+----+----+
///        |                  |         descriptors exist for frames [Lo, Hi) only
///        v                  v
///   descriptors [Lo..Hi)   4 KiB of pair bits: order o (0..9) uses 2^(14-o) bits starting
///   (12 B each)            at bit 32768 - (32768 >> o); bit = (pfn mod 32768) >> (o + 1)
/// </code>
///
/// DescBase is biased (descriptors - Lo) so that a lookup is one load and one add:
/// desc(pfn) = section[pfn >> 15].DescBase + pfn. The section table costs 24 bytes per 128 MiB of
/// address space (3 MiB at the 16 TiB limit of <see cref="Pfn.ManagedLimit"/>); frames at or above
/// that limit are refused by the caller.
///
/// Pair bits (Linux 2.4's free_area map): 1 bit per buddy pair and order, 0 = both halves free or
/// both not free at that order, 1 = exactly one of them is a free block of that order.
/// </summary>
public unsafe struct FrameMap
{
    /// <summary>log2 of frames per section (32768 frames = 128 MiB).</summary>
    public const int SectionShift = 15;
    /// <summary>Frames per section.</summary>
    public const uint SectionFrames = 1u << SectionShift;
    /// <summary>Bytes of pair bits per section.</summary>
    public const uint PairBitmapBytes = SectionFrames / 8;

    /// <summary>One section's metadata pointers and span.</summary>
    public struct Section
    {
        /// <summary>Descriptor array minus Lo (biased; valid for frames in [Lo, Hi)).</summary>
        public FrameDescriptor* DescBase;
        /// <summary>The section's pair bitmap, null when the section holds no RAM.</summary>
        public ulong* PairBits;
        /// <summary>First frame with a descriptor.</summary>
        public uint Lo;
        /// <summary>One past the last frame with a descriptor.</summary>
        public uint Hi;
    }

    private Section* _sections;
    private uint _sectionCount;
    private ulong _metadataBytes;
    private ulong _metadataPhys;

    /// <summary>One past the highest frame that may have a descriptor.</summary>
    public readonly ulong EndPfn => (ulong)_sectionCount << SectionShift;

    /// <summary>Bytes of metadata allocated (section table, descriptors, bitmaps).</summary>
    public readonly ulong MetadataBytes => _metadataBytes;

    /// <summary>Physical address of the single metadata block.</summary>
    public readonly ulong MetadataPhys => _metadataPhys;

    /// <summary>Number of section-table entries.</summary>
    public readonly uint SectionCount => _sectionCount;

    /// <summary>Section <paramref name="s"/> (no check).</summary>
    public readonly Section* SectionAt(uint s) => _sections + s;

    /// <summary>
    /// Builds the map for <paramref name="rangeCount"/> sorted, non-overlapping frame ranges
    /// (pairs [start, end) in <paramref name="ranges"/>, all below <see cref="Pfn.ManagedLimit"/>),
    /// taking one zeroed block of metadata from <paramref name="meta"/>. Every descriptor starts
    /// <see cref="FrameState.Reserved"/>.
    /// Return: Ok; InvalidArgument for unsorted, empty or out-of-limit ranges; OutOfMemory when
    /// the metadata does not fit (nothing allocated then).
    /// </summary>
    public static Status Build<TMeta>(ref TMeta meta, ulong* ranges, int rangeCount, out FrameMap map)
        where TMeta : struct, IMetadataAllocator
    {
        map = default;
        if (rangeCount <= 0) return Status.InvalidArgument;
        ulong prevEnd = 0;
        for (int i = 0; i < rangeCount; i++)
        {
            ulong s = ranges[2 * i], e = ranges[2 * i + 1];
            if (e <= s || s < prevEnd || e > Pfn.ManagedLimit) return Status.InvalidArgument;
            prevEnd = e;
        }
        uint sectionCount = (uint)((prevEnd + SectionFrames - 1) >> SectionShift);

        // Pass 1: size everything so that one allocation serves all (no partial state on failure).
        ulong bytes = Align64((ulong)sectionCount * (ulong)sizeof(Section));
        ForEachSectionSpan(ranges, rangeCount, null, null, ref bytes);
        if (meta.AllocateMetadata(bytes, 4096, out byte* block, out ulong phys) != Status.Ok) return Status.OutOfMemory;

        // Pass 2: carve.
        Section* sections = (Section*)block;
        ulong offset = Align64((ulong)sectionCount * (ulong)sizeof(Section));
        ForEachSectionSpan(ranges, rangeCount, sections, block, ref offset);
        map._sections = sections;
        map._sectionCount = sectionCount;
        map._metadataBytes = bytes;
        map._metadataPhys = phys;
        return Status.Ok;
    }

    private static ulong Align64(ulong v) => (v + 63) & ~63UL;

    // Visits each section's span [lo, hi) (min start, max end of the ranges inside it). With
    // sections == null it only adds up the bytes needed; otherwise it assigns them from `block`.
    private static void ForEachSectionSpan(ulong* ranges, int rangeCount, Section* sections, byte* block, ref ulong offset)
    {
        uint current = uint.MaxValue;
        ulong lo = 0, hi = 0;
        for (int i = 0; i < rangeCount; i++)
        {
            ulong s = ranges[2 * i], e = ranges[2 * i + 1];
            while (s < e)
            {
                uint sec = (uint)(s >> SectionShift);
                ulong secEnd = ((ulong)sec + 1) << SectionShift;
                ulong pieceEnd = e < secEnd ? e : secEnd;
                if (sec != current)
                {
                    if (current != uint.MaxValue) Place(sections, block, current, lo, hi, ref offset);
                    current = sec; lo = s;
                }
                hi = pieceEnd;
                s = pieceEnd;
            }
        }
        if (current != uint.MaxValue) Place(sections, block, current, lo, hi, ref offset);
    }

    private static void Place(Section* sections, byte* block, uint sec, ulong lo, ulong hi, ref ulong offset)
    {
        ulong descBytes = Align64((hi - lo) * (ulong)sizeof(FrameDescriptor));
        if (sections != null)
        {
            Section* entry = sections + sec;
            entry->DescBase = (FrameDescriptor*)(block + offset) - lo;
            entry->PairBits = (ulong*)(block + offset + descBytes);
            entry->Lo = (uint)lo;
            entry->Hi = (uint)hi;
        }
        offset += descBytes + PairBitmapBytes;
    }

    /// <summary>The descriptor of a frame known to be managed (no check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly FrameDescriptor* Desc(uint pfn) => _sections[pfn >> SectionShift].DescBase + pfn;

    /// <summary>The descriptor of an untrusted frame number, or null when it has none.</summary>
    public readonly FrameDescriptor* TryDesc(ulong pfn)
    {
        if (pfn >= EndPfn) return null;
        Section* s = _sections + (pfn >> SectionShift);
        if (s->PairBits == null || pfn < s->Lo || pfn >= s->Hi) return null;
        return s->DescBase + pfn;
    }

    /// <summary>True when frame <paramref name="pfn"/> has a descriptor.</summary>
    public readonly bool HasDesc(ulong pfn) => TryDesc(pfn) != null;

    /// <summary>Flips the pair bit of the order-<paramref name="order"/> block at
    /// <paramref name="pfn"/> and its buddy; returns the new value. Order must be below 10.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool TogglePair(uint pfn, uint order)
    {
        ulong* bits = _sections[pfn >> SectionShift].PairBits;
        uint bit = SectionFrames - (SectionFrames >> (int)order) + ((pfn & (SectionFrames - 1)) >> (int)(order + 1));
        ulong mask = 1UL << (int)(bit & 63);
        ulong word = bits[bit >> 6] ^ mask;
        bits[bit >> 6] = word;
        return (word & mask) != 0;
    }

    /// <summary>Reads the pair bit (for validators).</summary>
    public readonly bool PairBit(uint pfn, uint order)
    {
        ulong* bits = _sections[pfn >> SectionShift].PairBits;
        uint bit = SectionFrames - (SectionFrames >> (int)order) + ((pfn & (SectionFrames - 1)) >> (int)(order + 1));
        return (bits[bit >> 6] & (1UL << (int)(bit & 63))) != 0;
    }
}
