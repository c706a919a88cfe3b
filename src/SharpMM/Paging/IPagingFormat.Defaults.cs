using System.Runtime.CompilerServices;
using SharpMM.Addressing;

namespace SharpMM.Paging;

/// <summary>
/// What the radix-tree formats share, written once: a format implements
/// <see cref="IPagingFormat"/> through this interface (<c>struct X86PaeFormat :
/// IPagingFormat&lt;X86PaeFormat&gt;</c>) and gets these members from its own geometry, overriding
/// one only where its hardware differs (PAE's four-entry top table). The rules:
/// <code>
///   a table fills one 4 KiB page         EntriesPerTable = 4096 / EntrySize (512 or 1024)
///   each level adds log2 of that         IndexShift(level) = 12 + log2(EntriesPerTable) * level
///   entries are read and written whole   Read/Write: one EntrySize load or store
///   a pointer's table address is a      TableAddress(entry) = Address(0, entry)
///   level-0 entry's page address
/// </code>
/// Code that uses a format still names <see cref="IPagingFormat"/> only; each default resolves
/// statically per format like a member the format wrote itself.
/// </summary>
public unsafe interface IPagingFormat<TSelf> : IPagingFormat where TSelf : struct, IPagingFormat<TSelf>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IPagingFormat.EntriesPerTable(int level) => (int)PageSize.Bytes / TSelf.EntrySize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IPagingFormat.IndexShift(int level) => PageSize.Shift + (TSelf.EntrySize == 8 ? 9 : 10) * level;

    // (uint): indices are never negative, and a zero extension is free.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong IPagingFormat.Read(byte* table, int index) =>
        TSelf.EntrySize == 8 ? ((ulong*)table)[(uint)index] : ((uint*)table)[(uint)index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void IPagingFormat.Write(byte* table, int index, ulong entry)
    {
        if (TSelf.EntrySize == 8) ((ulong*)table)[(uint)index] = entry;
        else ((uint*)table)[(uint)index] = (uint)entry;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong IPagingFormat.TableAddress(ulong entry) => TSelf.Address(0, entry);

    /// <summary>True when <paramref name="pagePhys"/> is aligned to the size of a leaf of
    /// <paramref name="level"/> (2^IndexShift(level) bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IsLeafAligned(int level, ulong pagePhys) => (pagePhys & ((1UL << TSelf.IndexShift(level)) - 1)) == 0;
}
