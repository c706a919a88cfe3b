using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

/// <summary>
/// Where an object's allocated bit lives, packed in one word so that the magazines and the hot
/// slot set or clear it without finding the slab (<see cref="MagazineEntry.Mark"/>,
/// <see cref="HotSlot.Mark"/>):
/// <code>
///   mark = (address of the Alloc bitmap word &lt;&lt; 6) | bit index (0..63)
/// </code>
/// The word address loses its top 6 bits, which are copies of bit 57 on a canonical address;
/// <see cref="Word"/> shifts back arithmetically, which restores them for the higher half.
/// A shift by the whole mark uses its low 6 bits, the bit index (x86 and .NET both mask the
/// count), so <see cref="Bit"/> needs no mask.
/// </summary>
public static unsafe class AllocMark
{
    /// <summary>The mark of bit <paramref name="bit"/> (taken modulo 64) of the bitmap word at <paramref name="word"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Pack(ulong* word, ulong bit) => ((ulong)word << 6) | (bit & 63);

    /// <summary>The mark of object <paramref name="index"/>'s bit in the Alloc bitmap starting at <paramref name="allocBits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Of(ulong* allocBits, ulong index) => Pack(allocBits + (index >> 6), index);

    /// <summary>The bitmap word a mark names.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong* Word(ulong mark) => (ulong*)((long)mark >> 6);

    /// <summary>The mark's bit as a mask within its word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Bit(ulong mark) => 1UL << (int)mark;

    /// <summary>The mark's bit index within its word (0..63).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint BitIndex(ulong mark) => (uint)(mark & 63);
}
