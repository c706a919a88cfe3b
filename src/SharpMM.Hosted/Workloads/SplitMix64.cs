using System.Runtime.CompilerServices;

namespace SharpMM.Hosted.Workloads;

/// <summary>The workloads' PRNG (splitmix64) and bounded draw, bit-exact with the C peers.</summary>
public struct SplitMix64
{
    private ulong _s;

    /// <summary>Seeded generator.</summary>
    public SplitMix64(ulong seed) { _s = seed; }

    /// <summary>Next 64-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        ulong z = _s += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>((r >> 32) * n) >> 32: a value in [0, n) without rejection.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Bound(ulong r, uint n) => (uint)(((r >> 32) * n) >> 32);
}
