using System.Collections.Generic;
using SharpMM.Addressing;
using SharpMM.Hosted.Peers;
using SharpMM.Physical;

namespace SharpMM.Hosted.Trace;

/// <summary>
/// A buddy allocator that writes every allocation and free it performs to a trace: the
/// workloads' drivers are generic over the frame allocator, so they run unchanged over this
/// wrapper while recording, and over the buddy allocator itself (no recording cost) otherwise.
/// Refused calls are not events (they changed nothing).
/// </summary>
public unsafe struct RecordingFrames : IFrameTableAllocator
{
    private readonly BuddyAllocator* _buddy;
    private readonly TraceWriter _trace;

    /// <summary>Records what <paramref name="buddy"/> does into <paramref name="trace"/>.</summary>
    public RecordingFrames(BuddyAllocator* buddy, TraceWriter trace) { _buddy = buddy; _trace = trace; }

    /// <inheritdoc/>
    public Status Allocate(uint order, out Pfn pfn)
    {
        Status s = _buddy->Allocate(order, out pfn);
        if (s == Status.Ok) _trace.PageAlloc(pfn.Value, order, _trace.Header.ZoneOf(pfn.Value));
        return s;
    }

    /// <inheritdoc/>
    public Status Free(Pfn pfn, uint order)
    {
        Status s = _buddy->Free(pfn, order);
        if (s == Status.Ok) _trace.PageFree(pfn.Value, order, _trace.Header.ZoneOf(pfn.Value));
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

/// <summary>
/// An <see cref="IMalloc"/> that writes every kmalloc and kfree to a trace, giving each live
/// object an id (the writer's, reused after a free). A refused free is not an event.
/// </summary>
public unsafe struct RecordingMalloc<TM> : IMalloc where TM : struct, IMalloc
{
    private TM _inner;
    private readonly TraceWriter _trace;
    private readonly Dictionary<nint, uint> _ids;

    /// <summary>Records the calls into <paramref name="inner"/>.</summary>
    public RecordingMalloc(TM inner, TraceWriter trace)
    {
        _inner = inner; _trace = trace; _ids = new Dictionary<nint, uint>();
    }

    /// <summary>Objects allocated and not yet freed.</summary>
    public readonly int LiveObjects => _ids.Count;

    /// <inheritdoc/>
    public void* Malloc(nuint size)
    {
        void* p = _inner.Malloc(size);
        if (p == null) return null;
        uint id = _trace.NewObjectId();
        _ids[(nint)p] = id;
        _trace.Kmalloc(id, size, 0);
        return p;
    }

    /// <inheritdoc/>
    public bool Free(void* p)
    {
        if (!_inner.Free(p)) return false;
        if (_ids.Remove((nint)p, out uint id))
        {
            _trace.Kfree(id, 0);
            _trace.ReleaseObjectId(id);
        }
        return true;
    }

    /// <inheritdoc/>
    public ulong HeldBytes() => _inner.HeldBytes();
}
