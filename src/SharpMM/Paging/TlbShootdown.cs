using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using SharpMM.Concurrency;

namespace SharpMM.Paging;

/// <summary>
/// TLB shootdown: makes other CPUs drop translations that a page-table change on this CPU made
/// wrong, and waits until they have, so that the caller may reuse the frames and table pages.
///
/// <code>
///   sender (holds the lock of the tables it changed)      target CPU (its interrupt handler)
///   fills its own request slot: up to Ceiling pages,       takes the senders pending on it,
///     or "full flush" (more pages, a size change)           applies each sender's request to
///   sets Pending = number of targets                          its own TLB (invlpg / CR3 / full),
///   marks itself pending on every target                      then decrements that sender's
///   Cpu.Kick(targets, TlbShootdown): one IPI each              Pending
///   waits (Cpu.Relax) until Pending = 0
/// </code>
/// One request per operation: the caller records the whole operation in a <see cref="FlushBatch"/>
/// and sends it once. A sender's slot is its own (indexed by its CPU) and it waits for the
/// answers before it can fill it again, so no lock guards the slots; the handler takes none
/// either (a CPU may be interrupted while it holds any lock). While it waits the sender answers
/// requests sent to it (<see cref="Cpu.Relax"/> runs <see cref="Cpu.ServiceRequests"/>): two CPUs
/// shooting at each other both finish.
///
/// The handler runs with hooks made by <c>default(TArch)</c>: the kernel's hooks are
/// instructions on the CPU that runs them, and the hosted machine's find the current CPU's MMU
/// themselves. Targets apply the request to whatever space they run now: a CPU that switched
/// away has already dropped the space's translations with its CR3 load (its bit is cleared
/// only after that load), so the extra invalidations are harmless.
/// </summary>
public static unsafe class TlbShootdown
{
    /// <summary>Pages a request carries one by one; more become a full flush (Linux's
    /// tlb_single_page_flush_ceiling).</summary>
    public const int Ceiling = FlushPolicy.LinuxCeiling;

    private static Requests s_requests;
    private static PendingSenders s_incoming;
    private static Receivers s_received;
    private static int s_installed;

    /// <summary>
    /// For tests that prove a shootdown is needed: when true, <see cref="Send"/> skips the other
    /// CPUs (counting nothing), leaving their TLBs stale as a missing shootdown would.
    /// </summary>
    internal static bool SkipForTesting;

    /// <summary>Installs the handler of <see cref="CpuRequest.TlbShootdown"/> requests, run with
    /// <c>default(<typeparamref name="TArch"/>)</c> on the CPU that receives them.</summary>
    public static void Install<TArch>() where TArch : struct, IArchHooks
    {
        Cpu.SetRequestHandler(CpuRequest.TlbShootdown, &Handle<TArch>);
        Volatile.Write(ref s_installed, 1);
    }

    /// <summary>Removes the handler (the host's CPUs are gone).</summary>
    public static void Uninstall()
    {
        Volatile.Write(ref s_installed, 0);
        Cpu.SetRequestHandler(CpuRequest.TlbShootdown, null);
    }

    /// <summary>True while a handler is installed (without one, sending to other CPUs panics:
    /// nothing would answer).</summary>
    public static bool IsInstalled => Volatile.Read(ref s_installed) != 0;

    /// <summary>
    /// Sends what <paramref name="batch"/> recorded to the CPUs of <paramref name="cpuMask"/>
    /// other than the current one and waits until each has applied it. The batch is left as it
    /// is (the caller flushes the current CPU's TLB with it). Nothing is sent for an empty batch
    /// or an empty mask. Counted in the sender's <see cref="SentCounters"/>.
    /// </summary>
    public static void Send(ulong cpuMask, in FlushBatch batch)
    {
        int self = Cpu.Current;
        ulong targets = cpuMask & ~(1UL << self);
        if (targets == 0 || batch.IsEmpty || SkipForTesting) return;
        if (!IsInstalled) Panic.Fail("shootdown: a request for other CPUs with no handler installed", targets);
        ref Request r = ref s_requests[self];
        if (Volatile.Read(ref r.Pending) != 0) Panic.Fail("shootdown: a CPU's request slot reused before its answers", (ulong)self);
        bool full = batch.NeedsFullFlush || batch.Count > Ceiling;
        r.Count = full ? 0 : batch.Count;
        for (int i = 0; i < r.Count; i++) r.Pages[i] = batch[i];
        r.Full = full;
        r.Global = batch.HasGlobal;
        r.RootReload = batch.NeedsRootReload;
        int count = BitOperations.PopCount(targets);
        Volatile.Write(ref r.Pending, count);
        for (ulong m = targets; m != 0; m &= m - 1)
        {
            int cpu = BitOperations.TrailingZeroCount(m);
            if (cpu >= Cpu.MaxCpus) Panic.Fail("shootdown: a target beyond MaxCpus", (ulong)cpu);
            SetBit(ref s_incoming[cpu].Value, 1 << self);
        }
        Cpu.Kick(targets, CpuRequest.TlbShootdown);
        while (Volatile.Read(ref r.Pending) != 0) Cpu.Relax();
        r.Sent.Shootdowns++;
        r.Sent.Ipis += (ulong)count;
        if (full) r.Sent.FullFlushes++;
        else r.Sent.Pages += (ulong)r.Count;
    }

    private static void SetBit(ref int bits, int bit)
    {
        int old = Volatile.Read(ref bits);
        while (true)
        {
            int seen = Interlocked.CompareExchange(ref bits, old | bit, old);
            if (seen == old) return;
            old = seen;
        }
    }

    // The request handler: every sender pending on this CPU, applied and answered.
    private static void Handle<TArch>() where TArch : struct, IArchHooks
    {
        int self = Cpu.Current;
        int senders = Interlocked.Exchange(ref s_incoming[self].Value, 0);
        TArch arch = default;
        ref FlushPolicy policy = ref s_received[self].Policy;
        if (policy.Ceiling == 0) policy.Ceiling = FlushPolicy.LinuxCeiling;   // zeroed static storage: set on first use
        for (; senders != 0; senders &= senders - 1)
        {
            ref Request r = ref s_requests[BitOperations.TrailingZeroCount((uint)senders)];
            fixed (ulong* pages = &r.Pages[0]) policy.Apply(ref arch, r.Count, pages, r.Global, r.Full, r.RootReload);
            Interlocked.Decrement(ref r.Pending);
        }
    }

    /// <summary>What CPU <paramref name="cpu"/> has sent: shootdowns, IPIs, pages, full flushes.
    /// Read by the owner of the counts, or when the CPUs are quiet.</summary>
    public static ShootdownCounters SentCounters(int cpu) => s_requests[cpu].Sent;

    /// <summary>What CPU <paramref name="cpu"/>'s handler invalidated for others' requests.</summary>
    public static FlushCounters ReceivedCounters(int cpu) => s_received[cpu].Policy.Counters;

    /// <summary>Every CPU's sent counters added up (when the CPUs are quiet).</summary>
    public static ShootdownCounters TotalSent
    {
        get
        {
            ShootdownCounters t = default;
            for (int i = 0; i < Cpu.MaxCpus; i++)
            {
                ShootdownCounters c = s_requests[i].Sent;
                t.Shootdowns += c.Shootdowns;
                t.Ipis += c.Ipis;
                t.Pages += c.Pages;
                t.FullFlushes += c.FullFlushes;
            }
            return t;
        }
    }

    /// <summary>Zeroes every CPU's counters (when the CPUs are quiet).</summary>
    public static void ResetCounters()
    {
        for (int i = 0; i < Cpu.MaxCpus; i++)
        {
            s_requests[i].Sent = default;
            s_received[i].Policy.Counters = default;
        }
    }

    [InlineArray(Ceiling)]
    private struct PageList { private ulong _first; }

    // One CPU's outgoing request; written by that CPU only, read by its targets between the
    // Kick and their decrement of Pending.
    private struct Request
    {
        public PageList Pages;
        public int Count;
        public bool Full, Global, RootReload;
        public int Pending;
        public ShootdownCounters Sent;
    }

    [InlineArray(Cpu.MaxCpus)]
    private struct Requests { private Request _first; }

    // Per target CPU, a bit per sender whose request waits on it.
    [InlineArray(Cpu.MaxCpus)]
    private struct PendingSenders { private PaddedFlag _first; }

    // Per target CPU, the rules (FlushPolicy.Default) and counts of what its handler did.
    [StructLayout(LayoutKind.Sequential)]
    private struct Receiver { public FlushPolicy Policy; }

    [InlineArray(Cpu.MaxCpus)]
    private struct Receivers { private Receiver _first; }
}

/// <summary>What one CPU's shootdowns sent.</summary>
public struct ShootdownCounters
{
    /// <summary>Operations that interrupted other CPUs (one request each, however many pages).</summary>
    public ulong Shootdowns;
    /// <summary>CPUs interrupted (one IPI per target per shootdown).</summary>
    public ulong Ipis;
    /// <summary>Pages sent for single-page invalidation.</summary>
    public ulong Pages;
    /// <summary>Shootdowns sent as a full flush (beyond <see cref="TlbShootdown.Ceiling"/> pages, or a page size changed).</summary>
    public ulong FullFlushes;
}
