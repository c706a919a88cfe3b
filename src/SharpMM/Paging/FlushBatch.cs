using System.Runtime.CompilerServices;

namespace SharpMM.Paging;

/// <summary>
/// The pages a range operation changed, accumulated across as many operations as the caller
/// likes (Linux's mmu_gather), then flushed once through a <see cref="FlushPolicy"/>. It keeps
/// up to <see cref="Capacity"/> page addresses; past that it only remembers that a full flush
/// is needed (no policy invalidates more than <see cref="Capacity"/> pages one by one).
/// A failed operation may still have recorded changes (a rollback unmaps what it mapped; an
/// undone split changed page sizes twice): flush the batch whatever the status.
/// </summary>
public struct FlushBatch : IFlushRecorder
{
    /// <summary>Addresses kept for page-by-page invalidation.</summary>
    public const int Capacity = 64;

    [InlineArray(Capacity)]
    private struct PageArray { private ulong _e0; }

    private PageArray _pages;
    private int _count;
    private ulong _total;
    private bool _global, _full, _rootReload;

    /// <summary>Addresses recorded (at most <see cref="Capacity"/>).</summary>
    public readonly int Count => _count;
    /// <summary>Changes recorded, including those past <see cref="Capacity"/>.</summary>
    public readonly ulong TotalChanges => _total;
    /// <summary>Recorded address <paramref name="i"/>.</summary>
    public readonly ulong this[int i]
    {
        get
        {
            if ((uint)i >= (uint)_count) Panic.Fail("FlushBatch: index out of range", (ulong)i);
            return _pages[i];
        }
    }
    /// <summary>True when nothing was recorded.</summary>
    public readonly bool IsEmpty => _total == 0 && !_full && !_rootReload;
    /// <summary>A changed mapping (old or new) was global.</summary>
    public readonly bool HasGlobal => _global;
    /// <summary>Only a full flush is correct (page size changed, or more than <see cref="Capacity"/> pages).</summary>
    public readonly bool NeedsFullFlush => _full;
    /// <summary>A latched root entry changed (PAE): the root must be reloaded.</summary>
    public readonly bool NeedsRootReload => _rootReload;

    /// <summary>Records a changed page.</summary>
    public void Add(ulong va, PageGlobality globality) => AddPage(va, globality == PageGlobality.Global);

    private void AddPage(ulong va, bool global)
    {
        _total++;
        if (global) _global = true;
        if (_count < Capacity) _pages[_count++] = va;
        else _full = true;
    }

    /// <summary>Merges a single-operation token into the batch.</summary>
    public void Add(in FlushToken token)
    {
        if (token.HasPage) AddPage(token.VirtualAddress, token.IsGlobal);
        if (token.NeedsFullFlush) { _full = true; _global |= token.IsGlobal; }
        if (token.NeedsRootReload) _rootReload = true;
    }

    void IFlushRecorder.Page(ulong va, bool global) => AddPage(va, global);
    void IFlushRecorder.SizeChanged(bool global) { _full = true; _global |= global; }
    void IFlushRecorder.RootChanged() => _rootReload = true;

    /// <summary>Invalidates everything recorded as <paramref name="policy"/> decides, then
    /// empties the batch.</summary>
    public unsafe void Flush<TArch>(ref TArch arch, ref FlushPolicy policy) where TArch : struct, IArchHooks
    {
        if (!IsEmpty)
        {
            fixed (PageArray* p = &_pages) policy.Apply(ref arch, _count, (ulong*)p, _global, _full, _rootReload);
        }
        this = default;
    }

    /// <summary>Empties the batch without flushing (counted as ignored when it held anything).</summary>
    public void Ignore(ref FlushPolicy policy)
    {
        if (!IsEmpty) policy.Counters.Ignored++;
        this = default;
    }
}
