using System.Runtime.CompilerServices;
using SharpMM.Addressing;

namespace SharpMM.Paging;

/// <summary>
/// The entry an OS keeps in a level-0 slot whose page is not in RAM: a swap entry naming the
/// backing-store slot that holds the page. Part of every format's entry encoding, since it uses
/// only what all five formats share: bit 0 is present (x86 P) or valid (RISC-V V), and with it
/// clear the hardware ignores every other bit of the entry (Intel SDM vol. 3A 4.5, "P = 0: the
/// rest of the entry is ignored"; RISC-V privileged spec 4.3.2: V = 0 makes the rest free for
/// software).
/// <code>
///   level-0 entry states (every format)
///     0                            empty: nothing mapped, nothing kept
///     bit 0 set                    present: a mapping (the format's leaf)
///     bit 0 clear, non-zero        kept by the OS; the swap encoding:
///
///     63 (31 on 32-bit formats)   12 11        2   1   0
///    +-------------------------------+-----------+---+---+
///    |  store slot                   |  0        | 1 | 0 |
///    +-------------------------------+-----------+---+---+
///                                                 tag  present
/// </code>
/// Bit 1 is the tag, so that slot 0 gives a non-zero entry. Slots have 32 bits on 8-byte
/// formats and 20 on 4-byte ones (<see cref="MaxSlots"/>).
///
/// The mapper's rule "a table is in use while any entry is non-zero" makes a table of swap
/// entries stay (its occupancy count, where the format keeps one, counts them like mappings:
/// see <see cref="IPagingFormat.CountsChildren"/>); the mapper never makes, reads or frees
/// such an entry itself (Map refuses to write over one, Unmap and Translate find no mapping
/// there). Swap entries exist at level 0 only: a pointer entry is zero or present.
/// </summary>
public static class SwapEntry<TFormat> where TFormat : struct, IPagingFormat
{
    /// <summary>The tag: bit 1 set, present (bit 0) clear.</summary>
    public const ulong Tag = 0b10;

    /// <summary>Most slots a swap entry can name (2^20 with 4-byte entries, 2^32 with 8-byte ones).</summary>
    public static ulong MaxSlots => TFormat.EntrySize == 4 ? 1UL << 20 : 1UL << 32;

    /// <summary>The swap entry for store slot <paramref name="slot"/> (below <see cref="MaxSlots"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Make(uint slot) => ((ulong)slot << PageSize.Shift) | Tag;

    /// <summary>True for an entry the OS keeps (non-zero, not present): a swap entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Is(ulong entry) => entry != 0 && !TFormat.IsPresent(entry);

    /// <summary>The slot a swap entry names.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint SlotOf(ulong entry) => (uint)(entry >> PageSize.Shift);
}
