using System.Runtime.CompilerServices;
using System.Threading;

namespace SharpMM.Concurrency;

/// <summary>
/// A ticket spin lock: each taker draws a ticket with one atomic add and waits until the lock
/// serves it, so CPUs get the lock in the order they asked (no starvation under contention, unlike
/// a test-and-set lock). 32-bit atomics only, so the same code runs on i386.
/// <para>Rules: a lock is embedded in the data it protects, and the field's comment says what that
/// is; <see cref="Init"/> gives it its rank in the one lock order (<see cref="LockRank"/>); while
/// a CPU holds it nothing preempts it (the kernel does not reschedule in kernel mode) and no
/// interrupt handler takes it (the only cross-CPU interrupt handler takes no lock), so interrupts
/// need not be disabled. A waiter calls <see cref="Cpu.Relax"/>, which answers TLB shootdowns
/// sent to it while it waits.</para>
/// </summary>
public struct SpinLock
{
    private uint _next;
    private uint _serving;
    private LockRank _rank;
    /// <summary>Acquisitions, contention, spin time.</summary>
    public LockStats Stats;

    /// <summary>Makes the lock free, with its place in the lock order.</summary>
    public void Init(LockRank rank)
    {
        if (rank == LockRank.None) Panic.Fail("lock: initialised without a rank");
        _next = 0;
        _serving = 0;
        _rank = rank;
        Stats = default;
    }

    /// <summary>The lock's rank.</summary>
    public readonly LockRank Rank => _rank;

    /// <summary>True while some CPU holds the lock (a snapshot: for assertions).</summary>
    public bool IsHeld => Volatile.Read(ref _next) != Volatile.Read(ref _serving);

    /// <summary>Takes the lock, waiting for it if another CPU holds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Acquire()
    {
        if (LockOrder.Checking) LockOrder.Taking(_rank);
        uint ticket = Interlocked.Add(ref _next, 1u) - 1;
        if (Volatile.Read(ref _serving) != ticket) WaitFor(ticket);
        Stats.Acquisitions++;
    }

    /// <summary>Takes the lock if it is free; false (nothing changed) otherwise. Allowed while
    /// holding locks of the same or a higher rank (it never waits: <see cref="LockOrder.TryTaking"/>).</summary>
    public bool TryAcquire()
    {
        uint serving = Volatile.Read(ref _serving);
        if (Volatile.Read(ref _next) != serving) return false;
        if (LockOrder.Checking) LockOrder.TryTaking(_rank);
        if (Interlocked.CompareExchange(ref _next, serving + 1, serving) != serving)
        {
            if (LockOrder.Checking) LockOrder.Released(_rank);
            return false;
        }
        Stats.Acquisitions++;
        return true;
    }

    /// <summary>Releases the lock, serving the next ticket. The caller must hold it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release()
    {
        uint serving = _serving;
        if (serving == Volatile.Read(ref _next)) Panic.Fail("lock: released while not held", (ulong)_rank);
        if (LockOrder.Checking) LockOrder.Released(_rank);
        Volatile.Write(ref _serving, serving + 1);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitFor(uint ticket)
    {
        ulong start = Cpu.Ticks;
        while (Volatile.Read(ref _serving) != ticket) Cpu.Relax();
        Stats.Contended++;
        Stats.SpinTicks += Cpu.Ticks - start;
    }
}
