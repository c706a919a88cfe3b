using System.Runtime.CompilerServices;
using SharpMM.Diagnostics;

namespace SharpMM.Concurrency;

/// <summary>
/// Lock statistics by kind (<see cref="LockRank"/>): how many locks of the kind were counted and
/// their acquisitions, contended acquisitions and spin time summed, as the kernel prints at the
/// end of a boot and on its SHARPMM-JSON line, and <c>sharpmm boot</c> prints hosted. A kind
/// added twice adds up (the zone locks of two allocators, the spaces of two user-memory managers).
/// </summary>
public struct LockReport
{
    [InlineArray(Kinds)]
    private struct Rows { private LockReportRow _first; }

    // One row per rank value in use; more than enough for LockRank's kinds.
    private const int Kinds = 12;
    private Rows _rows;
    private int _count;

    /// <summary>Kinds in the report, in the order first added.</summary>
    public readonly int Count => _count;

    /// <summary>Row <paramref name="i"/>.</summary>
    public readonly LockReportRow this[int i]
    {
        get
        {
            if ((uint)i >= (uint)_count) Panic.Fail("lock report: row out of range", (ulong)i);
            return _rows[i];
        }
    }

    /// <summary>Adds <paramref name="locks"/> locks of <paramref name="rank"/> whose figures sum
    /// to <paramref name="stats"/>.</summary>
    public void Add(LockRank rank, ulong locks, in LockStats stats)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_rows[i].Rank != rank) continue;
            _rows[i].Locks += locks;
            _rows[i].Stats.Add(in stats);
            return;
        }
        if (_count == Kinds) Panic.Fail("lock report: more kinds than rows", (ulong)rank);
        _rows[_count++] = new LockReportRow { Rank = rank, Locks = locks, Stats = stats };
    }

    /// <summary>Adds every row of <paramref name="other"/>.</summary>
    public void Add(in LockReport other)
    {
        for (int i = 0; i < other._count; i++) Add(other._rows[i].Rank, other._rows[i].Locks, in other._rows[i].Stats);
    }

    /// <summary>Every row's figures summed.</summary>
    public readonly LockStats Total
    {
        get
        {
            LockStats t = default;
            for (int i = 0; i < _count; i++) t.Add(in _rows[i].Stats);
            return t;
        }
    }

    /// <summary>
    /// The table, one line per kind and a total:
    /// <code>
    /// locks: kind            locks  acquisitions   contended   spin ticks
    /// locks: zone                2          1042           3         5120
    /// locks: total              ...
    /// </code>
    /// Spin ticks are <see cref="Cpu.Ticks"/> (the kernel: TSC cycles; 0 without a clock).
    /// </summary>
    public readonly void WriteText<TSink>(ref TextWriter<TSink> w) where TSink : struct, ITextSink
    {
        w.Str("locks: ");
        w.StrPad("kind", 14);
        Right(ref w, "locks", 6);
        Right(ref w, "acquisitions", 14);
        Right(ref w, "contended", 12);
        Right(ref w, "spin ticks", 13);
        w.Line();
        for (int i = 0; i < _count; i++) WriteRow(ref w, LockNames.Name(_rows[i].Rank), _rows[i].Locks, in _rows[i].Stats);
        ulong locks = 0;
        for (int i = 0; i < _count; i++) locks += _rows[i].Locks;
        LockStats total = Total;
        WriteRow(ref w, "total", locks, in total);
    }

    private static void Right<TSink>(ref TextWriter<TSink> w, string s, int width) where TSink : struct, ITextSink
    {
        w.Spaces(width - s.Length);
        w.Str(s);
    }

    private static void WriteRow<TSink>(ref TextWriter<TSink> w, string name, ulong locks, in LockStats s) where TSink : struct, ITextSink
    {
        w.Str("locks: ");
        w.StrPad(name, 14);
        w.DecPad(locks, 6);
        w.DecPad(s.Acquisitions, 14);
        w.DecPad(s.Contended, 12);
        w.DecPad(s.SpinTicks, 13);
        w.Line();
    }

    /// <summary>
    /// The report as the member "locks": an object with a member per kind (its rank's name in
    /// snake_case, <see cref="LockNames.JsonName"/>):
    /// {"locks":N,"acquisitions":N,"contended":N,"spin_ticks":N}.
    /// </summary>
    public readonly void WriteJson<TSink>(ref JsonWriter<TSink> j, ref TextWriter<TSink> w) where TSink : struct, ITextSink
    {
        j.BeginObject(ref w, "locks");
        for (int i = 0; i < _count; i++)
        {
            j.BeginObject(ref w, LockNames.JsonName(_rows[i].Rank));
            j.Number(ref w, "locks", _rows[i].Locks);
            j.Number(ref w, "acquisitions", _rows[i].Stats.Acquisitions);
            j.Number(ref w, "contended", _rows[i].Stats.Contended);
            j.Number(ref w, "spin_ticks", _rows[i].Stats.SpinTicks);
            j.EndObject(ref w);
        }
        j.EndObject(ref w);
    }
}

/// <summary>One kind of lock in a <see cref="LockReport"/>.</summary>
public struct LockReportRow
{
    /// <summary>The kind.</summary>
    public LockRank Rank;
    /// <summary>How many locks of the kind were counted.</summary>
    public ulong Locks;
    /// <summary>Their figures summed.</summary>
    public LockStats Stats;
}
