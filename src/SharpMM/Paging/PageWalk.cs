using System.Runtime.CompilerServices;

namespace SharpMM.Paging;

/// <summary>
/// The entries a translation of one virtual address went through, top level first, ending at
/// the leaf or at the first entry that is not present.
/// </summary>
public struct PageWalk
{
    /// <summary>Most levels any format has, plus one.</summary>
    public const int MaxSteps = 5;

    [InlineArray(MaxSteps)]
    private struct Steps { private WalkStep _e0; }

    private Steps _steps;
    private int _count;

    /// <summary>The address walked.</summary>
    public ulong VirtualAddress;
    /// <summary>Ok (ends at a leaf), NotMapped (ends at a non-present entry) or InvalidArgument
    /// (non-canonical address, no steps).</summary>
    public Status Result;

    /// <summary>Number of steps.</summary>
    public readonly int Count => _count;

    /// <summary>Step <paramref name="i"/> (0 = top level).</summary>
    public readonly WalkStep this[int i]
    {
        get
        {
            if ((uint)i >= (uint)_count) Panic.Fail("PageWalk: step out of range", (ulong)i);
            return _steps[i];
        }
    }

    internal void Add(in WalkStep step)
    {
        if (_count == MaxSteps) Panic.Fail("PageWalk: more levels than any format has");
        _steps[_count++] = step;
    }
}
