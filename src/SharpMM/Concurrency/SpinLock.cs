using System.Runtime.CompilerServices;
using System.Threading;

namespace SharpMM.Concurrency;

/// <summary>
/// A test-and-test-and-set spin lock: a taker sets the lock word with one compare-exchange; a
/// waiter reads the word until it sees the lock free and then tries again, so the lock goes to
/// whichever waiter finds it free first. 32-bit atomics only, so the same code runs on i386.
/// <para>Rules: a lock is embedded in the data it protects, and the field's comment says what that
/// is; <see cref="Init"/> gives it its rank in the one lock order (<see cref="LockRank"/>); while
/// a CPU holds it nothing preempts it (the kernel does not reschedule in kernel mode) and no
/// interrupt handler takes it (the only cross-CPU interrupt handler takes no lock), so interrupts
/// need not be disabled. A waiter calls <see cref="Cpu.Relax"/>, which answers TLB shootdowns
/// sent to it while it waits, and gives the core away after a short spin when CPUs are threads.</para>
/// <para>Why not in order (a ticket lock, as this lock was): a ticket lock hands the lock to the
/// next waiter in line even when that waiter is not running (a preempted hosted thread, a vCPU
/// the hypervisor descheduled), and every waiter behind it then waits for the scheduler. With
/// eight hosted CPUs on two cores the page allocator's zone lock, taken about 6,500 times in a W5
/// run, spent 26-47 s spinning in runs of a few seconds. Taken by whoever finds it free, the lock
/// is never idle while a running CPU wants it. The price is fairness: a CPU can lose the race
/// several times in a row; the users keep locks short and rare (the page allocator's per-CPU
/// caches take the zone lock a few times per thousand order-0 operations), which keeps that
/// bounded in practice. One policy for every lock: there is no second way to take one.</para>
/// </summary>
public struct SpinLock
{
    // 1 while some CPU holds the lock.
    private int _held;
    private LockRank _rank;
    /// <summary>Acquisitions, contention, spin time.</summary>
    public LockStats Stats;

    /// <summary>Makes the lock free, with its place in the lock order.</summary>
    public void Init(LockRank rank)
    {
        if (rank == LockRank.None) Panic.Fail("lock: initialised without a rank");
        _held = 0;
        _rank = rank;
        Stats = default;
    }

    /// <summary>The lock's rank.</summary>
    public readonly LockRank Rank => _rank;

    /// <summary>True while some CPU holds the lock (a snapshot: for assertions).</summary>
    public bool IsHeld => Volatile.Read(ref _held) != 0;

    /// <summary>Takes the lock, waiting for it if another CPU holds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Acquire()
    {
        if (LockOrder.Checking) LockOrder.Taking(_rank);
        Cpu.Interleave(InterleavingPoint.LockAcquire);
        if (Interlocked.CompareExchange(ref _held, 1, 0) != 0) WaitForIt();
        Stats.Acquisitions++;
    }

    /// <summary>Takes the lock if it is free; false (nothing changed) otherwise. For a caller
    /// that does something else when the lock is busy; a caller that would only spin calls
    /// <see cref="Acquire"/>. Allowed while holding locks of the same or a higher rank (it never
    /// waits: <see cref="LockOrder.TryTaking"/>).</summary>
    public bool TryAcquire()
    {
        Cpu.Interleave(InterleavingPoint.LockAcquire);
        if (Volatile.Read(ref _held) != 0) return false;
        if (LockOrder.Checking) LockOrder.TryTaking(_rank);
        if (Interlocked.CompareExchange(ref _held, 1, 0) != 0)
        {
            if (LockOrder.Checking) LockOrder.Released(_rank);
            return false;
        }
        Stats.Acquisitions++;
        return true;
    }

    /// <summary>Releases the lock. The caller must hold it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release()
    {
        if (Volatile.Read(ref _held) == 0) Panic.Fail("lock: released while not held", (ulong)_rank);
        if (LockOrder.Checking) LockOrder.Released(_rank);
        Volatile.Write(ref _held, 0);
        Cpu.Interleave(InterleavingPoint.LockRelease);
    }

    // Reads until the lock looks free (no atomic, so waiters do not take the line from the
    // holder), then races for it; Cpu.Relax between reads.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForIt()
    {
        ulong start = Cpu.Ticks;
        do
        {
            Cpu.Relax();
        }
        while (Volatile.Read(ref _held) != 0 || Interlocked.CompareExchange(ref _held, 1, 0) != 0);
        Stats.Contended++;
        Stats.SpinTicks += Cpu.Ticks - start;
    }
}
