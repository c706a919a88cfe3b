using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics;
using System.Threading;

namespace SharpMM.Concurrency;

/// <summary>
/// What the library knows about the CPUs it runs on, and the few things it asks of the host about
/// them. The host registers each CPU's stack (<see cref="MapStack"/>: the current CPU is then
/// found from the stack pointer, with no call) and installs hooks once at start-up: the kernel
/// reads the CPU's index from its per-CPU area on any other stack and sends inter-processor
/// interrupts through the local APIC; the hosted machine runs each simulated CPU as a thread.
/// With no hooks installed there is one CPU, number 0, and every hook is skipped: a single-CPU
/// build pays one load and one predicted branch.
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
    private static RequestHandlers s_handlers;
    private static delegate*<ulong> s_clock;
    private static delegate*<InterleavingPoint, void> s_interleave;
    private static int s_interleavingHooked;
    private static int s_online = 1;
    private static PendingRequests s_pending;

    // The current CPU is found from the stack pointer, as Linux once found the current task from
    // its kernel stack: the host registers each CPU's stack (MapStack), and Current maps the
    // address of a local to the CPU whose stack holds it, with no call. The kernel registers
    // every CPU's kernel stack (interrupts and system calls run on it; the IST stacks are not
    // registered and take the hook); hosted, a thread that runs as a CPU for its whole life
    // (HostedCpus.Run) registers a range of its own stack. Anything else asks the host: the
    // kernel's hook (a GS- or FS-relative load behind a call; C# has no segment-relative load),
    // or hosted a thread static (on linux-x64 the runtime is a shared library and the JIT's TLS
    // access calls __tls_get_addr: ~3 ns, and the call makes the caller keep its values on the
    // stack).
    //
    // The stack map: one word per granule of address space (indexed by address >> shift,
    // modulo the table's length), written whole so that a reader never sees half an entry:
    //   bits 63 (31 on i386)..shift   the granule's base address (the tag),
    //   bits 3..0                     the CPU.
    // Only granules that lie wholly inside a registered range have an entry, so an address a
    // maps to the entry's CPU when a and the entry agree above the shift: one xor and one shift,
    // which also fail for an empty slot (0). A match is never wrong; a granule whose slot is
    // taken by another (a table's span away), and the partial granules at a range's ends, fall
    // back. Hosted, granules are 1 MiB (the host runs the CPU's work below its first whole
    // granule: HostedCpus.AsCpu); in the kernel they are pages, so a page-aligned kernel stack
    // is covered whole, and 2048 of them span 8 MiB: 16 CPUs' stacks never share a slot.
#if NETCOREAPP
    private const int StackGranuleShift = 20;
    private const int StackMapSlots = 1024;
    private static readonly nuint* s_stackMap = (nuint*)NativeMemory.AllocZeroed(StackMapSlots * (nuint)sizeof(nuint));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref nuint StackMapSlot(nuint address) => ref s_stackMap[(address >> StackGranuleShift) % StackMapSlots];
#else
    private const int StackGranuleShift = 12;
    private const int StackMapSlots = StackMapWords.Slots;
    private static StackMapWords s_stackMap;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref nuint StackMapSlot(nuint address) => ref s_stackMap[(int)((address >> StackGranuleShift) % StackMapSlots)];
#endif
    private const ulong GranuleMask = (1UL << StackGranuleShift) - 1;

    /// <summary>Tells <see cref="Current"/> that code whose stack pointer lies in
    /// [<paramref name="low"/>, <paramref name="high"/>) runs on CPU <paramref name="cpu"/>: the
    /// kernel registers each CPU's kernel stack, the hosted machine a range of each CPU
    /// thread's stack (<see cref="BindThisStack"/>). The range must be that CPU's alone for as
    /// long as it is registered; code on any other stack finds its CPU through the host's
    /// hook. Granules of the range that another range's entry holds are left to it (they fall
    /// back): a range is registered whole or in part, never wrongly.</summary>
    public static void MapStack(int cpu, ulong low, ulong high)
    {
        if ((uint)cpu >= MaxCpus) Panic.Fail("cpu: index beyond MaxCpus", (ulong)cpu);
        if (low >= high) Panic.Fail("cpu: an empty or inverted stack range", low);
        if ((ulong)(nuint)(high - 1) != high - 1) Panic.Fail("cpu: a stack range beyond the address space", high);
        WriteStackMap(low, high - 1, cpu);
    }

    /// <summary>Forgets a range given to <see cref="MapStack"/> (its stack is about to become
    /// another CPU's, or nobody's).</summary>
    public static void UnmapStack(ulong low, ulong high)
    {
        if (low >= high) Panic.Fail("cpu: an empty or inverted stack range", low);
        WriteStackMap(low, high - 1, -1);
    }

    // Writes the entries of the whole granules in [low, high] for `cpu`, or clears them (cpu
    // -1). Two live ranges never have an entry for the same granule (an entry covers only a
    // granule inside its own range), so a slot holding this granule's tag is this range's, or a
    // stale one: both are overwritten. A slot holding another granule (a table's span away) is
    // left to it; this granule then falls back.
    private static void WriteStackMap(ulong low, ulong high, int cpu)
    {
        ulong g = (high + 1) & ~GranuleMask; // just above the highest whole granule
        while (g >= (1UL << StackGranuleShift) && g - (1UL << StackGranuleShift) >= low)
        {
            g -= 1UL << StackGranuleShift;
            ref nuint slot = ref StackMapSlot((nuint)g);
            nuint entry = cpu < 0 ? 0 : (nuint)(g | (uint)cpu);
#if NETCOREAPP
            // Threads register their ranges at once, and granules a table's span apart share a slot.
            nuint seen = Volatile.Read(ref slot);
            if (seen == 0 || (seen & ~(nuint)GranuleMask) == g)
                Interlocked.CompareExchange(ref slot, entry, seen);
#else
            // The kernel registers a stack on one CPU, before the CPU it is for runs on it (the
            // boot CPU registers its own, which only it reads), and its stacks span less than
            // the table (no two share a slot): a plain store of a native word, which the one
            // reader of the slot, that CPU, sees whole.
            ulong seen = slot;
            if (seen == 0 || (seen & ~GranuleMask) == g) slot = entry;
#endif
        }
    }

    /// <summary>The CPU running the caller when finding it needs no call (a frame on a stack
    /// given to <see cref="MapStack"/>), else -1 (then <see cref="Current"/> answers, with a
    /// call). A fast path inlined into its callers tests this and leaves the call to an
    /// out-of-line path: a call on the inline path, even one never taken, makes the compiler
    /// keep the callers' values on the stack.</summary>
    public static int CurrentWithoutCall
    {
        // (The local is only an address: left unzeroed, it costs no store.)
        [MethodImpl(MethodImplOptions.AggressiveInlining), SkipLocalsInit]
        get
        {
            byte here;
            nuint sp = (nuint)(&here);
            nuint entry = StackMapSlot(sp);
            return ((sp ^ entry) >> StackGranuleShift) == 0 ? (int)(entry & 15) : -1;
        }
    }

#if NETCOREAPP
    // Hosted: threads bound without a range (HostedCpus.Bind, the deterministic scheduler's
    // with MapStacks off), frames outside the registered range and unbound threads read the
    // thread static, whose default 0 makes every other thread CPU 0. (The freestanding corelib
    // has no thread statics: the kernel's FS belongs to user programs.)
    [System.ThreadStatic] private static int t_current;

    // The calling thread's registered range (BindThisStack), 0 when it has none.
    [System.ThreadStatic] private static ulong t_stackHigh;
    [System.ThreadStatic] private static ulong t_stackLow;

    /// <summary>Hosted only: makes the calling thread CPU <paramref name="cpu"/> (in its
    /// registered stack range too, if it has one: see <see cref="BindThisStack"/>).</summary>
    public static void BindThisThread(int cpu)
    {
        if ((uint)cpu >= MaxCpus) Panic.Fail("cpu: index beyond MaxCpus", (ulong)cpu);
        t_current = cpu;
        if (t_stackHigh != 0) WriteStackMap(t_stackLow, t_stackHigh, cpu);
    }

    /// <summary>Hosted only: makes the calling thread CPU <paramref name="cpu"/>, and lets
    /// <see cref="Current"/> answer from the stack pointer, with no thread-static read, in every
    /// frame whose locals lie in [<paramref name="top"/> - <paramref name="bytes"/>,
    /// <paramref name="top"/>]: the caller passes the address of one of its locals (everything
    /// it calls lies below) and a size that stays within the thread's stack.
    /// <see cref="UnbindThisStack"/> must be called before the thread ends (its stack may then
    /// become another thread's).</summary>
    public static void BindThisStack(int cpu, void* top, nuint bytes)
    {
        byte here;
        ulong high = (ulong)top, low = (ulong)top - bytes;
        if (bytes == 0 || low > high || (ulong)&here > high || (ulong)&here < low) Panic.Fail("cpu: a stack range that does not hold its caller", (ulong)&here);
        if (t_stackHigh != 0) Panic.Fail("cpu: a thread registers one stack range", t_stackHigh);
        t_stackHigh = high;
        t_stackLow = low;
        BindThisThread(cpu);
    }

    /// <summary>Hosted only: forgets the calling thread's range (<see cref="BindThisStack"/>);
    /// the thread static keeps its CPU.</summary>
    public static void UnbindThisStack()
    {
        if (t_stackHigh == 0) return;
        WriteStackMap(t_stackLow, t_stackHigh, -1);
        t_stackHigh = t_stackLow = 0;
    }

    /// <summary>Hosted only: the start of the stack map's granule that holds
    /// <paramref name="address"/>. Of a range bound with <see cref="BindThisStack"/>, the granule
    /// its top cuts has no entry: frames there read the thread static, frames below the start of
    /// that granule find their CPU from the map.</summary>
    public static ulong StackMapFloor(void* address) => (ulong)address & ~GranuleMask;

    /// <summary>Index (0 .. <see cref="MaxCpus"/> - 1) of the CPU running the caller.</summary>
    public static int Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            int cpu = CurrentWithoutCall;
            return cpu >= 0 ? cpu : t_current;
        }
    }
#else
    /// <summary>Index (0 .. <see cref="MaxCpus"/> - 1) of the CPU running the caller: from the
    /// stack map on a registered stack, else from the host's hook (0 without one).</summary>
    public static int Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            int cpu = CurrentWithoutCall;
            if (cpu >= 0) return cpu;
            delegate*<int> current = s_current;
            return current == null ? 0 : current();
        }
    }
#endif

    /// <summary>True where a CPU answers requests (<see cref="Kick"/>) only where it asks for
    /// them: in <see cref="Relax"/>, <see cref="ServiceRequests"/> and a host's wait, never
    /// between two instructions of other code. Hosted, where CPUs are threads, it is true; in
    /// the kernel an interrupt runs the handler anywhere interrupts are on, and it is false.
    /// Per-CPU state that a request handler changes needs guarding only from code that may be
    /// interrupted, or that spins or waits while it changes that state.</summary>
    public static bool RequestsArePolled
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
#if NETCOREAPP
        get => true;
#else
        get => false;
#endif
    }

    /// <summary>CPUs online (1 until the host says otherwise).</summary>
    public static int Online => Volatile.Read(ref s_online);

    /// <summary>A mask with a bit for every CPU online.</summary>
    public static ulong OnlineMask => Online >= 64 ? ulong.MaxValue : (1UL << Online) - 1;

    /// <summary>How the host finds the current CPU and what a CPU does in a spin loop (<c>pause</c>,
    /// or a yield when CPUs are threads). Either may be null.</summary>
    public static void Install(delegate*<int> currentIndex, delegate*<void> relax)
    {
#if NETCOREAPP
        if (currentIndex != null) Panic.Fail("cpu: hosted CPUs are threads, bound with BindThisThread, not a hook");
#endif
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

    /// <summary>A hook called at every <see cref="Interleave"/> point: a host that schedules its
    /// simulated CPUs itself (the hosted deterministic scheduler) hands the processor to another
    /// CPU there. Null (the kernel, every ordinary run): the points cost one load and a branch,
    /// and they sit only on paths that already wait or take a shared lock.</summary>
    public static void InstallInterleaving(delegate*<InterleavingPoint, void> hook)
    {
        s_interleave = hook;
        s_interleavingHooked = hook != null ? 1 : 0;
    }

    /// <summary>1 while a host's <see cref="InstallInterleaving"/> hook is installed, else 0: an
    /// int, so that a fast path can fold it into one test with a flag of its own.</summary>
    public static int InterleavingHooked
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => s_interleavingHooked;
    }

    /// <summary>A point where another CPU may run before the caller goes on (a spin, a lock
    /// taken or released, a per-CPU cache entered or left, a request sent). Nothing happens
    /// unless a host installed <see cref="InstallInterleaving"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Interleave(InterleavingPoint point)
    {
        delegate*<InterleavingPoint, void> hook = s_interleave;
        if (hook != null) hook(point);
    }

    /// <summary>The current tick count, 0 without a clock.</summary>
    public static ulong Ticks
    {
        get
        {
            delegate*<ulong> clock = s_clock;
            return clock == null ? 0 : clock();
        }
    }

    /// <summary>The library's handler for one kind of cross-CPU request (one per kind; the
    /// layer that owns the kind installs it at start-up).</summary>
    public static void SetRequestHandler(CpuRequest kind, delegate*<void> handler) => s_handlers[IndexOf(kind)] = (nint)handler;

    /// <summary>The handler installed for <paramref name="kind"/> (null for none).</summary>
    public static delegate*<void> RequestHandler(CpuRequest kind) => (delegate*<void>)s_handlers[IndexOf(kind)];

    private static int IndexOf(CpuRequest kind)
    {
        uint bits = (uint)kind;
        if (bits == 0 || (bits & (bits - 1)) != 0 || bits >= 1u << RequestHandlers.Kinds) Panic.Fail("cpu: a request kind is one bit of CpuRequest", bits);
        return BitOperations.TrailingZeroCount(bits);
    }

    /// <summary>Marks a request of <paramref name="kind"/> pending on every CPU of
    /// <paramref name="cpuMask"/> and interrupts the others; the current CPU, if in the mask, runs
    /// it here and now. The caller waits for the others' answers its own way (the request's
    /// data says when it is done).</summary>
    public static void Kick(ulong cpuMask, CpuRequest kind)
    {
        IndexOf(kind);
        int self = Current;
        ulong others = cpuMask & ~(1UL << self);
        for (ulong m = others; m != 0; m &= m - 1)
        {
            int cpu = BitOperations.TrailingZeroCount(m);
            if (cpu >= MaxCpus) Panic.Fail("cpu: request for a CPU beyond MaxCpus", (ulong)cpu);
            SetPending(ref s_pending[cpu].Value, (int)kind);
        }
        if (others != 0)
        {
            Interleave(InterleavingPoint.Kick);
            if (s_sendIpi != null) s_sendIpi(others);
        }
        if ((cpuMask & (1UL << self)) != 0)
        {
            SetPending(ref s_pending[self].Value, (int)kind);
            ServiceRequests();
        }
    }

    private static void SetPending(ref int bits, int kind)
    {
        int old = Volatile.Read(ref bits);
        while (true)
        {
            int seen = Interlocked.CompareExchange(ref bits, old | kind, old);
            if (seen == old) return;
            old = seen;
        }
    }

    /// <summary>True when a request waits on the current CPU.</summary>
    public static bool RequestPending => Volatile.Read(ref s_pending[Current].Value) != 0;

    /// <summary>Runs the current CPU's pending requests, if any, lowest kind first (the kernel's
    /// IPI handler calls this; so does <see cref="Relax"/>).</summary>
    public static void ServiceRequests()
    {
        int self = Current;
        int bits = Interlocked.Exchange(ref s_pending[self].Value, 0);
        for (; bits != 0; bits &= bits - 1)
        {
            delegate*<void> handler = (delegate*<void>)s_handlers[BitOperations.TrailingZeroCount((uint)bits)];
            if (handler != null) handler();
        }
    }

    /// <summary>One turn of a spin loop: answers this CPU's pending requests (so that two CPUs
    /// waiting on each other with interrupts off still make progress), then the host's pause.</summary>
    public static void Relax()
    {
        Interleave(InterleavingPoint.Spin);
        if (Volatile.Read(ref s_pending[Current].Value) != 0) ServiceRequests();
        delegate*<void> relax = s_relax;
        if (relax != null) relax();
    }
}

/// <summary>
/// 64 bytes that nothing uses, placed between data different CPUs write (or one CPU writes and
/// others read): bytes 64 or more apart never share a 64-byte line, so the two sides stay on
/// different lines wherever the enclosing structure starts (the kernel's static storage is not
/// line-aligned). A field read by every CPU's fast path that sat on the line another CPU writes
/// at every operation made two CPUs slower than one (the JIT's null check of a struct pointer
/// reads its first byte too).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
public struct CacheLineGap
{
    private byte _unused;
}

/// <summary>A word alone on its cache line, so that CPUs polling their own do not share lines.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct PaddedFlag
{
    /// <summary>The flag.</summary>
    [FieldOffset(0)] public int Value;
}

/// <summary>Where <see cref="Cpu.Interleave"/> is called: the places another CPU may be run
/// between the caller's steps when a host schedules the CPUs itself.</summary>
public enum InterleavingPoint : byte
{
    /// <summary>One turn of a spin loop (<see cref="Cpu.Relax"/>): the CPU waits for another.</summary>
    Spin = 1,
    /// <summary>Before the atomic that takes a spin lock (or tries to).</summary>
    LockAcquire,
    /// <summary>After a spin lock was released.</summary>
    LockRelease,
    /// <summary>A CPU started or finished changing its own per-CPU cache (the buddy allocator's
    /// Busy flag, which decides whether a drain request is answered now or deferred).</summary>
    PerCpuCache,
    /// <summary>Requests were marked pending on other CPUs (before their interrupts are sent).</summary>
    Kick,
    /// <summary>A point named by the host or a test, not by the library.</summary>
    Explicit,
}

/// <summary>Kinds of cross-CPU request (bits: several may be pending on a CPU at once).</summary>
public enum CpuRequest
{
    /// <summary>Invalidate TLB entries (Paging's shootdown).</summary>
    TlbShootdown = 1,
    /// <summary>Give the CPU's cached free pages back to the zones (memory pressure).</summary>
    DrainPageCaches = 2,
    /// <summary>Give the CPU's cached slab objects back to their caches.</summary>
    DrainSlabCaches = 4,
    /// <summary>Run the host's function mailbox (the kernel's "run on CPU n").</summary>
    HostCall = 8,
}

/// <summary>Handlers by request kind (function pointers stored as nint).</summary>
[InlineArray(Kinds)]
public struct RequestHandlers
{
    /// <summary>Kinds of request there is room for.</summary>
    public const int Kinds = 8;
    private nint _first;
}

/// <summary>One pending-request bit set per CPU.</summary>
[InlineArray(Cpu.MaxCpus)]
public struct PendingRequests
{
    private PaddedFlag _first;
}

#if !NETCOREAPP
/// <summary>The kernel's stack map (<see cref="Cpu.MapStack"/>): a word per page-sized granule
/// slot (a native word: i386 looks it up in 32-bit arithmetic), in static storage (the
/// freestanding builds have no native allocator this early).</summary>
[InlineArray(Slots)]
public struct StackMapWords
{
    /// <summary>Slots: 8 MiB of stacks in page granules.</summary>
    public const int Slots = 2048;
    private nuint _first;
}
#endif
