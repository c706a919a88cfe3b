using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpMM.Heap;

/// <summary>
/// Per-slab metadata, kept off the slab (the slab's pages hold objects only, so power-of-two
/// classes pack exactly) in a <see cref="DescriptorPool"/> slot found through the owner word of
/// each of the slab's frames (<see cref="SharpMM.Physical.FrameOwner"/>: 64-byte alignment keeps
/// the kind bits of the address clear). A 32-byte header of what every free reads, a byte per
/// object, a bitmap of one bit per object (W = ceil(objects / 64) words) and the list links:
///
/// <code>
///   +0   Start    first object's address       +16  Cache  the owning cache
///   +8   Inverse  inverse of Slot's odd part    +24  Total (16 bits), InUse (16), Shift (8), Owner (8)
///   +32       Alloc[objects] 1 = handed out to a caller (checked on every free: double/invalid free)
///   +32+A     Free[W]        1 = free in the slab (refills take from here; under the cache lock)
///   +32+A+8W  Next, Prev     links on the cache's full/partial/empty list (under the cache lock)
///             (A = objects rounded up to a multiple of 8)
/// </code>
///
/// So a free of an object among a slab's first 32 reads one cache line of its descriptor:
/// the whole slab for classes of 128 bytes and more.
///
/// An object is in exactly one of three states: handed out (Alloc 1, Free 0), parked in a
/// per-CPU magazine or hot slot (both 0), free in the slab (Free 1, Alloc 0). InUse counts all
/// but the free ones. The allocated state is a byte, not a bit, because the fast paths of
/// several CPUs write it without a lock: a byte store changes no neighbour, where a
/// read-modify-write of a shared bitmap word could undo another CPU's change to another object
/// (an atomic OR would put a locked instruction on every allocation and free).
///
/// Object index of a pointer, and the boundary check, in one multiply: with Slot = o * 2^Shift
/// (o odd) and Inverse = o^-1 mod 2^64, q = rotr((p - Start) * Inverse, Shift) equals
/// (p - Start) / Slot when Slot divides p - Start, and is at least 2^(64 - Shift) / o otherwise
/// (the divisibility test of Granlund and Montgomery), so "q &lt; Total" accepts exactly the
/// object boundaries (a pointer below Start wraps to a huge difference and fails too).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SlabDescriptor
{
    /// <summary>Bytes before the allocated bytes.</summary>
    public const int HeaderBytes = 32;
    /// <summary><see cref="Owner"/> of a slab no CPU owns.</summary>
    public const byte Shared = 0xFF;

    /// <summary>Address of object 0.</summary>
    public ulong Start;
    /// <summary>Multiplicative inverse (mod 2^64) of the odd part of the slot size.</summary>
    public ulong Inverse;
    /// <summary>The owning cache.</summary>
    public SlabCache* Cache;
    /// <summary>Objects in the slab.</summary>
    public ushort Total;
    /// <summary>Objects not free in the slab (handed out, in a magazine or a hot slot).</summary>
    public ushort InUse;
    /// <summary>log2 of the power-of-two part of the slot size.</summary>
    public byte Shift;
    /// <summary>The CPU whose magazines take objects from this slab, or <see cref="Shared"/>
    /// (changed under the cache lock; see <see cref="SlabCache"/>, "Slab ownership").</summary>
    public byte Owner;
    private ushort _pad1;

    /// <summary>The object index of <paramref name="p"/> when it is an object boundary of slab
    /// <paramref name="d"/>, else a value of at least <see cref="Total"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong IndexOf(SlabDescriptor* d, ulong p) => BitOperations.RotateRight((p - d->Start) * d->Inverse, d->Shift);

    /// <summary>Inverse and shift for a slot size (see the type's summary).</summary>
    public static void DivisorFor(uint slot, out ulong inverse, out byte shift)
    {
        int k = BitOperations.TrailingZeroCount(slot);
        ulong o = slot >> k;
        ulong x = o; // correct to 3 bits: o * o = 1 mod 8 for odd o
        for (int i = 0; i < 5; i++) x *= 2 - o * x; // each step doubles the correct bits
        inverse = x;
        shift = (byte)k;
    }

    /// <summary>The allocated bytes, one per object.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* AllocBytes(SlabDescriptor* d) => (byte*)d + HeaderBytes;

    /// <summary>The free bitmap (after the allocated bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong* FreeBits(SlabDescriptor* d) => (ulong*)((byte*)d + HeaderBytes + AllocBytesFor(d->Total));

    /// <summary>Bytes of the allocated-byte array for <paramref name="objects"/> objects (a multiple of 8).</summary>
    public static uint AllocBytesFor(uint objects) => (objects + 7) & ~7u;

    /// <summary>The list links (after the free bitmap).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SlabLinks* Links(SlabDescriptor* d) => (SlabLinks*)((byte*)d + HeaderBytes + AllocBytesFor(d->Total) + 8 * WordsFor(d->Total));

    /// <summary>Bitmap words for <paramref name="objects"/> objects.</summary>
    public static uint WordsFor(uint objects) => (objects + 63) / 64;

    /// <summary>Descriptor size for <paramref name="objects"/> objects, a multiple of 64.</summary>
    public static uint BytesFor(uint objects) => (HeaderBytes + AllocBytesFor(objects) + 8 * WordsFor(objects) + (uint)sizeof(SlabLinks) + 63) & ~63u;
}

/// <summary>A slab's links on its cache's list (at the end of its descriptor).</summary>
public unsafe struct SlabLinks
{
    /// <summary>Next slab on the list.</summary>
    public SlabDescriptor* Next;
    /// <summary>Previous slab on the list.</summary>
    public SlabDescriptor* Prev;
}
