using System.Runtime.CompilerServices;
using SharpMM.Addressing;

namespace SharpMM.Physical;

/// <summary>How the buddy allocator's hot paths reach a frame's metadata. Implemented by two
/// structs so that each path is compiled for its case (static dispatch through generics).</summary>
internal unsafe interface IFrameAddressing
{
    /// <summary>List links of a managed frame.</summary>
    FrameLinks* Links(uint pfn);
    /// <summary>State byte of a managed frame.</summary>
    byte* Info(uint pfn);
    /// <summary>Flips the pair bit of the order-<paramref name="order"/> block; returns the new value.</summary>
    bool TogglePair(ref Zone zone, uint pfn, uint order);
    /// <summary>True when a frame of the zone's span has a state byte (the slow paths ask before
    /// reading a frame they did not get from a list).</summary>
    bool HasInfo(uint pfn);
}

/// <summary>A zone whose metadata is one packed run: base + pfn, no table lookup.</summary>
internal readonly unsafe struct DenseAddressing : IFrameAddressing
{
    // The zone, not its links array: the fast paths (a per-CPU cache's pop and push) use only
    // the state bytes, and a links pointer read up front was one more load on each of them
    // (docs/benchmarks.md, "The per-CPU caches' fast paths"). The pointer holds because the
    // allocator does not move after Init (BuddyAllocator says so).
    private readonly Zone* _zone;
    private readonly byte* _info;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public DenseAddressing(in Zone zone) : this(in zone, zone.DenseInfo) { }

    /// <summary>With the zone's <see cref="Zone.DenseInfo"/>, already read by the caller.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public DenseAddressing(in Zone zone, byte* info) { _zone = (Zone*)Unsafe.AsPointer(ref Unsafe.AsRef(in zone)); _info = info; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FrameLinks* Links(uint pfn) => _zone->DenseLinks + pfn;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Info(uint pfn) => _info + pfn;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TogglePair(ref Zone zone, uint pfn, uint order) => FrameMap.Toggle((ulong*)zone.DensePairs[order], pfn >> (int)(order + 1));
    /// <summary>Every frame of a dense zone's span has metadata.</summary>
    public bool HasInfo(uint pfn) => true;
}

/// <summary>Any zone: through the section table.</summary>
internal readonly unsafe struct SparseAddressing : IFrameAddressing
{
    private readonly FrameMap _map;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public SparseAddressing(in FrameMap map) { _map = map; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FrameLinks* Links(uint pfn) => _map.Links(pfn);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Info(uint pfn) => _map.Info(pfn);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TogglePair(ref Zone zone, uint pfn, uint order) => _map.TogglePair(pfn, order);
    public bool HasInfo(uint pfn) => _map.HasMetadata(Pfn.NewUnchecked(pfn));
}
