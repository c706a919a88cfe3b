using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics;
using System.Threading;

namespace SharpMM.Concurrency;

/// <summary>
/// What the library knows about the CPUs it runs on, and the few things it asks of the host about
/// them. The host installs hooks once at start-up: the kernel reads the CPU's index from its
/// per-CPU area and sends inter-processor interrupts through the local APIC; the hosted machine
/// runs each simulated CPU as a thread. With no hooks installed there is one CPU, number 0, and
/// every hook is skipped: a single-CPU build pays one load and one predicted branch.
/// <para>Cross-CPU requests: <see cref="Kick"/> marks a request pending on other CPUs and
/// interrupts them; each runs <see cref="ServiceRequests"/> from its interrupt handler, or from
/// <see cref="Relax"/> when it is spinning with interrupts off. The handler (the TLB shootdown's)
/// must take no lock: a CPU may run it while it holds or waits for any lock.</para>
/// </summary>
public static unsafe class Cpu
{
    /// <summary>CPUs the library keeps per-CPU state for (per-CPU arrays are this long).</summary>
    public const int MaxCpus = 16;

    private static delegate*<int> s_current;
    private static delegate*<void> s_relax;
    private static delegate*<ulong, void> s_sendIpi;
    private static delegate*<void> s_requestHandler;
    private static delegate*<ulong> s_clock;
    private static int s_online = 1;
    private static PendingRequests s_pending;

    /// <summary>Index (0 .. <see cref="MaxCpus"/> - 1) of the CPU running the caller.</summary>
    public static int Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            delegate*<int> current = s_current;
            return current == null ? 0 : current();
        }
    }

    /// <summary>CPUs online (1 until the host says otherwise).</summary>
    public static int Online => Volatile.Read(ref s_online);

    /// <summary>A mask with a bit for every CPU online.</summary>
    public static ulong OnlineMask => Online >= 64 ? ulong.MaxValue : (1UL << Online) - 1;

    /// <summary>How the host finds the current CPU and what a CPU does in a spin loop (<c>pause</c>,
    /// or a yield when CPUs are threads). Either may be null.</summary>
    public static void Install(delegate*<int> currentIndex, delegate*<void> relax)
    {
        s_current = currentIndex;
        s_relax = relax;
    }

    /// <summary>Sets the number of CPUs online; they are numbered 0 .. count - 1.</summary>
    public static void SetOnline(int count)
    {
        if (count < 1 || count > MaxCpus) Panic.Fail("cpu: online count outside 1..MaxCpus", (ulong)count);
        Volatile.Write(ref s_online, count);
    }

    /// <summary>How the host interrupts the CPUs of a bit mask (they then call <see cref="ServiceRequests"/>).</summary>
    public static void InstallIpi(delegate*<ulong, void> sendIpi) => s_sendIpi = sendIpi;

    /// <summary>A monotonic tick source (TSC, Stopwatch) for lock spin times; null for none.</summary>
    public static void InstallClock(delegate*<ulong> clock) => s_clock = clock;

    /// <summary>The current tick count, 0 without a clock.</summary>
    public static ulong Ticks
    {
        get
        {
            delegate*<ulong> clock = s_clock;
            return clock == null ? 0 : clock();
        }
    }

    /// <summary>The library's handler of cross-CPU requests (one for the whole library).</summary>
    public static void SetRequestHandler(delegate*<void> handler) => s_requestHandler = handler;

    /// <summary>The installed request handler (null for none).</summary>
    public static delegate*<void> RequestHandler => s_requestHandler;

    /// <summary>Marks a request pending on every CPU of <paramref name="cpuMask"/> and interrupts
    /// the others; the current CPU, if in the mask, runs its request here and now.</summary>
    public static void Kick(ulong cpuMask)
    {
        int self = Current;
        ulong others = cpuMask & ~(1UL << self);
        for (ulong m = others; m != 0; m &= m - 1)
        {
            int cpu = BitOperations.TrailingZeroCount(m);
            if (cpu >= MaxCpus) Panic.Fail("cpu: request for a CPU beyond MaxCpus", (ulong)cpu);
            Volatile.Write(ref s_pending[cpu].Value, 1);
        }
        if (others != 0 && s_sendIpi != null) s_sendIpi(others);
        if ((cpuMask & (1UL << self)) != 0)
        {
            Volatile.Write(ref s_pending[self].Value, 1);
            ServiceRequests();
        }
    }

    /// <summary>True when a request waits on the current CPU.</summary>
    public static bool RequestPending => Volatile.Read(ref s_pending[Current].Value) != 0;

    /// <summary>Runs the current CPU's pending request, if any (the kernel's IPI handler calls
    /// this; so does <see cref="Relax"/>).</summary>
    public static void ServiceRequests()
    {
        int self = Current;
        if (Interlocked.Exchange(ref s_pending[self].Value, 0) == 0) return;
        delegate*<void> handler = s_requestHandler;
        if (handler != null) handler();
    }

    /// <summary>One turn of a spin loop: answers this CPU's pending requests (so that two CPUs
    /// waiting on each other with interrupts off still make progress), then the host's pause.</summary>
    public static void Relax()
    {
        if (Volatile.Read(ref s_pending[Current].Value) != 0) ServiceRequests();
        delegate*<void> relax = s_relax;
        if (relax != null) relax();
    }
}

/// <summary>A flag alone on its cache line, so that CPUs polling their own do not share lines.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct PaddedFlag
{
    /// <summary>The flag.</summary>
    [FieldOffset(0)] public int Value;
}

/// <summary>One pending-request flag per CPU.</summary>
[InlineArray(Cpu.MaxCpus)]
public struct PendingRequests
{
    private PaddedFlag _first;
}
