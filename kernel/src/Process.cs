using SharpMM.User;
using SharpMM.User.Linux;

namespace SharpMM.Kernel;

/// <summary>Where a process is in its life (<see cref="Processes"/>).</summary>
internal enum ProcessState : byte
{
    /// <summary>Gone: the scheduler gives back its kernel stack and its area at its next pass.</summary>
    Free,
    /// <summary>Ready to run, or running (<see cref="Processes.Current"/>).</summary>
    Runnable,
    /// <summary>In wait4 for a child; runnable again when a child exits.</summary>
    Waiting,
    /// <summary>Exited: memory released, the wait status kept until the parent reaps it.</summary>
    Zombie,
}

/// <summary>
/// One user process: an address space, a kernel stack, the user registers while it does not
/// run, and its identity. Lives in the process table (<see cref="Processes"/>).
/// <code>
///   kernel stack   vmalloc area of KernelStackBytes (an unmapped guard page below it): a
///                  trap or system call from this process lands at its top (TSS.RSP0)
///   Regs           the user context (the same frame the entry stubs build): filled when the
///                  process stops running, loaded by arch_enter_user when it runs again
/// </code>
/// </summary>
internal unsafe struct Process
{
    public const int MaxFds = 32;
    public const int FdConsoleIn = -1, FdConsoleOut = -2, FdConsoleErr = -3;
    /// <summary>Linux's resource numbers (RLIMIT_*) the kernel gives a meaning to, and their count.</summary>
    public const int RlimitData = 2, RlimitStack = 3, RlimitCore = 4, RlimitNproc = 6, RlimitNofile = 7, RlimitAs = 9, RlimitCount = 16;

    public int Pid;
    public int ParentPid;
    public ProcessState State;
    /// <summary>Linux's wait status once a zombie: exit code &lt;&lt; 8, or the signal number.</summary>
    public int WaitStatus;
    /// <summary>Base of the kernel stack's vmalloc area (0: none).</summary>
    public ulong KernelStack;
    /// <summary>The user's thread pointer: on x86-64 the FS base (arch_prctl ARCH_SET_FS), on
    /// i386 the TLS segment descriptor set_thread_area made (<see cref="UserMode.ThreadPointer"/>).</summary>
    public ulong ThreadPointer;
    /// <summary>set_tid_address's pointer (recorded; there are no threads to wake).</summary>
    public ulong ClearChildTid;
    /// <summary>rt_sigprocmask's blocked set (recorded; no signals are delivered).</summary>
    public ulong SignalMask;
    /// <summary>Open descriptors (<see cref="MaxFds"/>): 0 closed, <see cref="FdConsoleIn"/>,
    /// <see cref="FdConsoleOut"/>, <see cref="FdConsoleErr"/>, or 1 + the index of a
    /// <see cref="RunFiles"/> file.</summary>
    public fixed int Fds[MaxFds];
    /// <summary>Each file descriptor's offset.</summary>
    public fixed ulong FdOffsets[MaxFds];
    /// <summary>rt_sigaction's handlers (recorded; never called).</summary>
    public fixed ulong SignalHandlers[65];
    /// <summary>Resource limits (getrlimit/prlimit64), soft and hard, by RLIMIT_* number;
    /// ulong.MaxValue is RLIM_INFINITY.</summary>
    public fixed ulong LimitSoft[RlimitCount];
    public fixed ulong LimitHard[RlimitCount];
    /// <summary>The user registers while the process is not running.</summary>
    public InterruptFrame Regs;
    /// <summary>The address space (registered with the user memory manager while live).</summary>
    public AddressSpace<KernelPagingFormat> Space;

    /// <summary>What RLIMIT_AS and RLIMIT_DATA allow the memory system calls.</summary>
    public readonly LinuxLimits MemoryLimits => new LinuxLimits { AddressSpaceBytes = LimitSoft[RlimitAs], DataBytes = LimitSoft[RlimitData] };

    /// <summary>The limits a first process starts with (Linux's defaults where they mean
    /// something here: an 8 MiB stack, no core files; descriptors and processes as many as the
    /// tables hold; the rest unlimited).</summary>
    public void SetDefaultLimits(ulong stackBytes, ulong processes)
    {
        for (int i = 0; i < RlimitCount; i++) LimitSoft[i] = LimitHard[i] = ulong.MaxValue;
        LimitSoft[RlimitStack] = stackBytes;
        LimitSoft[RlimitCore] = 0;
        LimitSoft[RlimitNofile] = LimitHard[RlimitNofile] = MaxFds;
        LimitSoft[RlimitNproc] = LimitHard[RlimitNproc] = processes;
    }

    /// <summary>Top of the kernel stack (the first byte above it).</summary>
    public readonly ulong KernelStackTop => KernelStack + Processes.KernelStackBytes;
}
