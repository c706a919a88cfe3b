using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Hosted.User;

/// <summary>
/// The buddy allocator as a frame source for user memory (user pages and user page tables):
/// order-0 frames of the User memory class, optionally poisoned on allocation (0xA5) and on free
/// (0x6B) so a page handed to a process without zeroing shows up, and failing the
/// <see cref="FailAt"/>-th allocation (1-based; 0 = never) to test out-of-memory paths. While a
/// trace is recorded (<see cref="Trace.TraceRecorder.Current"/>) each allocation and free is an event.
/// </summary>
public unsafe struct BuddyFrames : IFrameTableAllocator
{
    private readonly BuddyAllocator* _buddy;
    private readonly byte* _ram;
    /// <summary>Poison frames on allocation and free.</summary>
    public bool Poison;
    /// <summary>The allocation that fails (1-based); 0: none.</summary>
    public long FailAt;
    /// <summary>Allocations asked for.</summary>
    public long Allocations;

    /// <summary>Frames from <paramref name="buddy"/>; <paramref name="ram"/> is physical address 0.</summary>
    public BuddyFrames(BuddyAllocator* buddy, byte* ram, bool poison = false)
    {
        _buddy = buddy; _ram = ram; Poison = poison; FailAt = 0; Allocations = 0;
    }

    /// <inheritdoc/>
    public Status Allocate(uint order, out Pfn pfn)
    {
        Allocations++;
        if (FailAt != 0 && Allocations == FailAt) { pfn = default; return Status.OutOfMemory; }
        Status s = _buddy->Allocate(order, MemoryClass.User, out pfn);
        if (s == Status.Ok && Trace.TraceRecorder.Current is { } t) t.PageAlloc(pfn.Value, order, t.Header.ZoneOf(pfn.Value));
        if (s == Status.Ok && Poison) new System.Span<byte>(_ram + (pfn.Value << PageSize.Shift), (int)(PageSize.Bytes << (int)order)).Fill(0xA5);
        return s;
    }

    /// <inheritdoc/>
    public Status Free(Pfn pfn, uint order)
    {
        if (Poison && _buddy->StateOf(pfn) == FrameState.Allocated)
            new System.Span<byte>(_ram + (pfn.Value << PageSize.Shift), (int)(PageSize.Bytes << (int)order)).Fill(0x6B);
        Status s = _buddy->Free(pfn, order);
        if (s == Status.Ok && Trace.TraceRecorder.Current is { } t) t.PageFree(pfn.Value, order, t.Header.ZoneOf(pfn.Value));
        return s;
    }

    /// <inheritdoc/>
    public readonly uint MaxOrder => _buddy->MaxOrder;
    /// <inheritdoc/>
    public readonly bool CanFree => true;
    /// <inheritdoc/>
    public readonly ulong FreeFrames => _buddy->FreeFrames;
    /// <inheritdoc/>
    public readonly ulong ManagedFrames => _buddy->ManagedFrames;

    /// <inheritdoc/>
    public readonly FrameMap Map => _buddy->Map;
    /// <inheritdoc/>
    public readonly void Drain() => _buddy->Drain();
}
