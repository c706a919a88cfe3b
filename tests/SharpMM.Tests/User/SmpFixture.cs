using System;
using System.Collections.Generic;
using System.Threading;
using SharpMM.Concurrency;
using SharpMM.Hosted;
using SharpMM.Hosted.Machine;
using SharpMM.Hosted.User;
using SharpMM.Paging;
using SharpMM.User;

namespace SharpMM.Tests.User;

/// <summary>
/// A user-memory machine with several CPUs: the <see cref="UserFixture{TFormat}"/>'s RAM, frames
/// and store, one MMU per CPU (<see cref="MmuCpus"/>: own TLB and CR3, shared page tables), each
/// CPU's page faults handled by the library for the space that CPU runs. A stale hit is a
/// violation unless some CPU holds the table lock (a change may still be on its way: the
/// shootdown is sent and waited for under that lock); violations are recorded, not thrown (a
/// CPU that throws while another waits for its answer would hang the run), and
/// <see cref="Violations"/> lists them after the run.
/// </summary>
public sealed unsafe class SmpFixture<TFormat> : IDisposable where TFormat : struct, IPagingFormat
{
    public readonly UserFixture<TFormat> F;
    public readonly MmuCpus Cpus;
    public CpuMmuHooks Arch;
    private readonly IntPtr[] _current = new IntPtr[Cpu.MaxCpus];
    private readonly long[] _faults = new long[Cpu.MaxCpus * (int)FaultKind.Count];
    private readonly FaultKind[] _lastFault = new FaultKind[Cpu.MaxCpus];
    private readonly object _blankLock = new();

    public SmpFixture(int cpus, ulong ramBytes = 32UL << 20)
    {
        F = new UserFixture<TFormat>(ramBytes);
        Cpus = new MmuCpus(F.Mmu, cpus);
        TlbShootdown.SkipForTesting = false;
        TlbShootdown.ResetCounters();
        for (int i = 0; i < cpus; i++)
        {
            int cpu = i;
            Mmu m = Cpus[i];
            m.Tlb.PanicOnViolation = false;
            m.Tlb.ChangeInFlight = _ => F.Mem->TablesBusy;
            m.FaultHandler = (_, fault) => OnFault(cpu, fault);
        }
    }

    public ref UserMemory<TFormat, BuddyFrames, TestStore> M => ref *F.Mem;

    private FaultResolution OnFault(int cpu, PageFault fault)
    {
        var s = (AddressSpace<TFormat>*)_current[cpu];
        if (s == null) return FaultResolution.Fail;
        FaultResult r = F.Mem->HandleFault(s, fault, ref Arch);
        _faults[cpu * (int)FaultKind.Count + (int)r.Kind]++;
        _lastFault[cpu] = r.Kind;
        return r.IsResolved ? FaultResolution.Retry : FaultResolution.Fail;
    }

    /// <summary>Faults of <paramref name="kind"/> on every CPU.</summary>
    public long Faults(FaultKind kind)
    {
        long n = 0;
        for (int c = 0; c < Cpu.MaxCpus; c++) n += _faults[c * (int)FaultKind.Count + (int)kind];
        return n;
    }

    /// <summary>The kind of the calling CPU's last fault.</summary>
    public FaultKind LastFault => _lastFault[Cpu.Current];

    /// <summary>The calling CPU runs <paramref name="s"/> (null: the kernel's tables).</summary>
    public void Switch(AddressSpace<TFormat>* s)
    {
        int cpu = Cpu.Current;
        UserMemory<TFormat, BuddyFrames, TestStore>.Switch((AddressSpace<TFormat>*)_current[cpu], s, F.KernelRoot, ref Arch);
        _current[cpu] = (IntPtr)s;
    }

    /// <summary>Uninitialised memory for a space (thread-safe).</summary>
    public AddressSpace<TFormat>* Blank()
    {
        lock (_blankLock) return F.Blank();
    }

    // Between two instructions the CPU takes the interrupts pending on it.
    private static void Interrupts()
    {
        if (Cpu.RequestPending) Cpu.ServiceRequests();
    }

    public bool TryWrite(ulong va, ulong value)
    {
        DeterministicCpus.Point();
        Interrupts();
        return Cpus.Current.TryWrite64(va, value, Privilege.User) == AccessStatus.Ok;
    }

    public bool TryRead(ulong va, out ulong value)
    {
        DeterministicCpus.Point();
        Interrupts();
        return Cpus.Current.TryRead64(va, Privilege.User, out value) == AccessStatus.Ok;
    }

    /// <summary>Waits for the other CPUs as a spin loop does: answering requests meanwhile.</summary>
    public void Idle(Func<bool> until)
    {
        while (!until()) Cpu.Relax();
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="cpus"/> simulated CPUs. A CPU that is done
    /// switches to the kernel's tables and idles (answering shootdowns) until all are done, as an
    /// idle CPU takes interrupts.
    /// </summary>
    public void Run(int cpus, Action<int> body)
    {
        int running = cpus;
        HostedCpus.Run(cpus, cpu =>
        {
            try
            {
                body(cpu);
            }
            finally
            {
                Switch(null);
                Interlocked.Decrement(ref running);
                Idle(() => Volatile.Read(ref running) == 0);
            }
        });
    }

    /// <summary>
    /// <see cref="Run"/> under the deterministic scheduler (<see cref="DeterministicCpus"/>):
    /// one CPU at a time, interleaved at the library's points and at every <see cref="TryRead"/>
    /// and <see cref="TryWrite"/> by the schedule <paramref name="seed"/> draws.
    /// </summary>
    public ScheduleResult RunScheduled(int cpus, ulong seed, Action<int> body, ScheduleOptions? options = null)
    {
        int running = cpus;
        return DeterministicCpus.Run(cpus, seed, cpu =>
        {
            body(cpu);
            Switch(null);
            running--;
            Idle(() => running == 0);
        }, options);
    }

    /// <summary>Every CPU's recorded violations, one line each.</summary>
    public List<string> Violations
    {
        get
        {
            var all = new List<string>();
            for (int i = 0; i < Cpus.Count; i++)
                foreach (TlbViolation v in Cpus[i].Tlb.Violations) all.Add($"cpu {i}: {v}");
            return all;
        }
    }

    public void Dispose()
    {
        TlbShootdown.SkipForTesting = false;
        for (int i = 0; i < Cpus.Count; i++) Cpus[i].FaultHandler = null;
        Cpus.Dispose();
        F.Dispose();
    }
}

/// <summary>A barrier for simulated CPUs: waiting spins with <see cref="Cpu.Relax"/>, so a CPU
/// waiting here still answers shootdowns (a blocking barrier would deadlock with a sender).</summary>
public sealed class SpinBarrier(int parties)
{
    private int _arrived, _generation;

    public void Wait()
    {
        int gen = Volatile.Read(ref _generation);
        if (Interlocked.Increment(ref _arrived) == parties)
        {
            Volatile.Write(ref _arrived, 0);
            Interlocked.Increment(ref _generation);
            return;
        }
        while (Volatile.Read(ref _generation) == gen) Cpu.Relax();
    }
}
