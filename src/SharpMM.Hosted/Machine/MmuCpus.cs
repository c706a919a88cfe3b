using System;
using System.Threading;
using SharpMM.Concurrency;
using SharpMM.Paging;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// Several CPUs over one simulated RAM: one <see cref="Mmu"/> per CPU, each with its own TLB,
/// CR3 and control registers, all walking the same physical memory and so the same page tables
/// (Accessed and Dirty are set by compare-exchange in RAM, as CPUs do). Each MMU is driven by the
/// thread that is its CPU (<see cref="HostedCpus"/>); another CPU reaches its TLB only through a
/// shootdown that CPU runs itself. A translation a CPU keeps after its entry changed is reported
/// by that CPU's TLB as a stale-TLB violation, unless <see cref="Tlb.ChangeInFlight"/> says the
/// change is still being shot down. Every CPU's TLB reports only unsafe uses
/// (<see cref="StalePolicy.ReportUnsafeUse"/>).
/// <para><see cref="CpuMmuHooks"/> are the library's arch hooks for this set: each call goes to
/// the MMU of the CPU that makes it, so the shootdown handler, which runs with
/// <c>default(CpuMmuHooks)</c>, invalidates the receiving CPU's TLB. One set is active at a time
/// (the hooks find it in a static).</para>
/// </summary>
public sealed unsafe class MmuCpus : IDisposable
{
    private static Mmu[]? s_active;
    private readonly Mmu[] _cpus;

    /// <summary>CPU 0 is <paramref name="first"/>; CPUs 1 .. <paramref name="count"/> - 1 are new
    /// MMUs over its RAM with <paramref name="options"/> and a copy of its control registers
    /// (paging mode, CR3). Makes this set the one <see cref="CpuMmuHooks"/> drive and installs the
    /// library's shootdown handler for them.</summary>
    public MmuCpus(Mmu first, int count, MmuOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        if (count < 1 || count > Cpu.MaxCpus) throw new ArgumentOutOfRangeException(nameof(count), count, $"1 to {Cpu.MaxCpus} CPUs");
        _cpus = new Mmu[count];
        _cpus[0] = first;
        for (int i = 1; i < count; i++)
        {
            var m = new Mmu(first.Ram, options);
            m.Cr4 = first.Cr4;
            m.Efer = first.Efer;
            m.Cr3 = first.Cr3;
            m.Cr0 = first.Cr0;
            m.Tlb.StaleCheck = first.Tlb.StaleCheck;
            m.Tlb.PanicOnViolation = first.Tlb.PanicOnViolation;
            _cpus[i] = m;
        }
        // Another CPU's walk sets Dirty in an entry this one has cached, and the library gives
        // rights without a shootdown (the stale entry only faults, SDM vol. 3A, 4.10.4.3):
        // neither is a stale use. Only changes that make a served translation wrong count.
        foreach (Mmu m in _cpus) m.Tlb.StalePolicy = StalePolicy.ReportUnsafeUse;
        if (Interlocked.CompareExchange(ref s_active, _cpus, null) != null)
            throw new InvalidOperationException("another set of simulated CPUs is active (dispose it first)");
        HostedCpus.Install();
        TlbShootdown.Install<CpuMmuHooks>();
    }

    /// <summary>CPUs in the set.</summary>
    public int Count => _cpus.Length;

    /// <summary>CPU <paramref name="cpu"/>'s MMU.</summary>
    public Mmu this[int cpu] => _cpus[cpu];

    /// <summary>The MMU of the CPU running the caller.</summary>
    public Mmu Current => _cpus[Cpu.Current];

    /// <summary>Stale-TLB violations of every CPU.</summary>
    public long ViolationCount
    {
        get
        {
            long n = 0;
            foreach (Mmu m in _cpus) n += m.Tlb.ViolationCount;
            return n;
        }
    }

    internal static Mmu Active
    {
        get
        {
            Mmu[]? cpus = Volatile.Read(ref s_active);
            if (cpus == null) throw new InvalidOperationException("no set of simulated CPUs is active");
            int cpu = Cpu.Current;
            if (cpu >= cpus.Length) throw new InvalidOperationException($"CPU {cpu} has no MMU in the active set of {cpus.Length}");
            return cpus[cpu];
        }
    }

    /// <summary>Stops being the active set (the hooks fail until another is made).</summary>
    public void Dispose()
    {
        Interlocked.CompareExchange(ref s_active, null, _cpus);
        TlbShootdown.Uninstall();
    }
}

/// <summary>The library's <see cref="IArchHooks"/> on the active <see cref="MmuCpus"/>: every
/// call drives the MMU of the calling CPU. Stateless, so <c>default</c> is a working value.</summary>
public readonly struct CpuMmuHooks : IArchHooks
{
    /// <inheritdoc/>
    public ulong ReadCr3()
    {
        Mmu m = MmuCpus.Active;
        return m.Cr3 & m.Cr3AddressMask;
    }

    /// <inheritdoc/>
    public void WriteCr3(ulong topLevelTablePhys) => MmuCpus.Active.WriteCr3(topLevelTablePhys);

    /// <inheritdoc/>
    public void InvalidatePage(ulong virtualAddress) => MmuCpus.Active.InvalidatePage(virtualAddress);

    /// <inheritdoc/>
    public void FlushAll() => MmuCpus.Active.FlushAll();

    /// <inheritdoc/>
    public bool HasInvalidatePage => MmuCpus.Active.HasInvalidatePage;

    /// <inheritdoc/>
    public bool TryInvalidatePage(ulong virtualAddress) => MmuCpus.Active.TryInvalidatePage(virtualAddress);
}
