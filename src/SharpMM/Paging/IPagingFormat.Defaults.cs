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
///   a pointer's table address is a      TableAddress(entry) = Address(0, entry)
///   level-0 entry's page address
/// </code>
/// Code that uses a format still names <see cref="IPagingFormat"/> only; each default resolves
/// statically per format like a member the format wrote itself. Read and Write stay in each
/// format: written here once, with the entry width as a test the JIT folds, they cost the
/// mapper's walk an instruction per level (the load no longer took the table address and
/// the scaled index as one operand; W4's map 5% slower).
/// </summary>
public unsafe interface IPagingFormat<TSelf> : IPagingFormat where TSelf : struct, IPagingFormat<TSelf>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IPagingFormat.EntriesPerTable(int level) => (int)PageSize.Bytes / TSelf.EntrySize;

    // log2(EntriesPerTable) = 12 - log2(EntrySize), and log2 of 4 or 8 is EntrySize / 4 + 1:
    // arithmetic rather than a choice, which the JIT folds without a temporary.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IPagingFormat.IndexShift(int level) => PageSize.Shift + (PageSize.Shift - (TSelf.EntrySize / 4 + 1)) * level;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong IPagingFormat.TableAddress(ulong entry) => TSelf.Address(0, entry);

    /// <summary>True when <paramref name="pagePhys"/> is aligned to the size of a leaf of
    /// <paramref name="level"/> (2^IndexShift(level) bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IsLeafAligned(int level, ulong pagePhys) => (pagePhys & ((1UL << TSelf.IndexShift(level)) - 1)) == 0;
}
