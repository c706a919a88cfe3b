using System.Runtime.CompilerServices;

namespace SharpMM.Concurrency;

/// <summary>
/// Checks the lock order at run time when <see cref="Checking"/> is on (debug builds, the tests,
/// the kernel's test boots): each CPU keeps the ranks of the locks it holds, and taking a lock
/// whose rank is not above all of them panics with both names: the deadlock it could cause is
/// reported the first time the order is broken, not the rare time two CPUs actually collide.
/// <para>Two switches: <see cref="Checking"/> for the whole machine (the only one a lock's fast
/// path reads: a release kernel pays one static test per acquisition), and
/// <see cref="CheckingOnThisCpu"/> for the current CPU alone, kept with its held locks, for a
/// host that wants one CPU to behave as in a release build (a test showing the deadlock an
/// inversion causes) while every other CPU stays checked.</para>
/// </summary>
public static unsafe class LockOrder
{
    /// <summary>Locks one CPU may hold at once.</summary>
    public const int MaxHeld = 8;

    /// <summary>Whether lock order is checked (off by default in release builds: it costs a
    /// per-CPU lookup on every acquisition).</summary>
#if DEBUG
    public static bool Checking = true;
#else
    public static bool Checking;
#endif

    /// <summary>Whether the current CPU's acquisitions are checked against the order while
    /// <see cref="Checking"/> is on (true unless switched off here; hosted, the current CPU's
    /// state is the calling thread's, see <see cref="UseStorage"/>). Off, the CPU still records
    /// the locks it takes and releases (<see cref="HeldByCurrent"/> stays accurate, and the switch may
    /// be turned back on while it holds locks); it only stops comparing ranks, as a release
    /// build does, so it may take locks out of order without a panic.</summary>
    public static bool CheckingOnThisCpu
    {
        get => !Held().Unchecked;
        set => Held().Unchecked = !value;
    }

    private static PerCpuHeld s_held;
    private static delegate*<HeldLocks*> s_storage;

    /// <summary>Where the running context keeps its held locks, when that is not the current
    /// CPU's slot: hosted code runs many unrelated threads (test runners) that all say they are
    /// CPU 0, so the hosted machine keeps held locks per thread. Null: per CPU.</summary>
    public static void UseStorage(delegate*<HeldLocks*> storage) => s_storage = storage;

    private static ref HeldLocks Held()
    {
        delegate*<HeldLocks*> storage = s_storage;
        if (storage != null) return ref *storage();
        return ref s_held[Cpu.Current];
    }

    /// <summary>Called before a lock of <paramref name="rank"/> is taken by the current CPU.</summary>
    public static void Taking(LockRank rank)
    {
        if (rank == LockRank.None) Panic.Fail("lock: taken before Init gave it a rank");
        ref HeldLocks held = ref Held();
        if (held.Depth > 0 && !held.Unchecked)
        {
            LockRank top = held.Highest();
            if (top >= rank) Panic.Fail("lock order: taken while holding a lock of equal or higher rank", LockNames.Name(top), LockNames.Name(rank));
        }
        if (held.Depth == MaxHeld) Panic.Fail("lock order: more locks held at once than LockOrder.MaxHeld", (ulong)rank);
        held.Ranks[held.Depth++] = (byte)rank;
    }

    /// <summary>Called before a try-lock of <paramref name="rank"/> by the current CPU: recorded
    /// as held, but not checked against the order, since a try-lock never waits and so cannot
    /// close a cycle of waiters (Linux's lockdep treats trylocks alike). A later waiting
    /// acquisition is still checked against it.</summary>
    public static void TryTaking(LockRank rank)
    {
        if (rank == LockRank.None) Panic.Fail("lock: taken before Init gave it a rank");
        ref HeldLocks held = ref Held();
        if (held.Depth == MaxHeld) Panic.Fail("lock order: more locks held at once than LockOrder.MaxHeld", (ulong)rank);
        held.Ranks[held.Depth++] = (byte)rank;
    }

    /// <summary>Called when the current CPU releases a lock of <paramref name="rank"/>.</summary>
    public static void Released(LockRank rank)
    {
        ref HeldLocks held = ref Held();
        for (int i = held.Depth - 1; i >= 0; i--)
        {
            if (held.Ranks[i] != (byte)rank) continue;
            for (int j = i; j < held.Depth - 1; j++) held.Ranks[j] = held.Ranks[j + 1];
            held.Depth--;
            return;
        }
        Panic.Fail("lock order: released a lock this CPU does not hold", (ulong)rank);
    }

    /// <summary>Locks the current CPU holds (for assertions such as "no lock held here").</summary>
    public static int HeldByCurrent => Held().Depth;

    /// <summary>Forgets the current context's held locks (hosted tests, after a deliberate panic
    /// left a lock taken).</summary>
    public static void ForgetHeld() => Held().Depth = 0;
}

/// <summary>The ranks of the locks one CPU holds, in the order taken, and whether its order is
/// checked.</summary>
public unsafe struct HeldLocks
{
    /// <summary>Ranks, oldest first.</summary>
    public fixed byte Ranks[LockOrder.MaxHeld];
    /// <summary>How many.</summary>
    public int Depth;
    // The CPU's acquisitions are not compared with the locks it holds (LockOrder.CheckingOnThisCpu
    // off); zero, the default of fresh storage, is checked.
    internal bool Unchecked;

    /// <summary>The highest rank held (the last taken, when the order was kept).</summary>
    public readonly LockRank Highest()
    {
        byte max = 0;
        for (int i = 0; i < Depth; i++) if (Ranks[i] > max) max = Ranks[i];
        return (LockRank)max;
    }
}

/// <summary>Held locks per CPU.</summary>
[InlineArray(Cpu.MaxCpus)]
public struct PerCpuHeld
{
    private HeldLocks _first;
}
