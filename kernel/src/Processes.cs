using SharpMM.Diagnostics;
using SharpMM.User;
using static SharpMM.User.Linux.LinuxErrno;

namespace SharpMM.Kernel;

/// <summary>
/// The process table and the scheduler: run until block or exit, one CPU, no preemption.
/// <code>
///   Start(first)  -> RunAll: save the caller's context, move to the scheduler stack, Schedule
///   Schedule      give back the kernel stacks of processes that are gone; pick the next
///                 runnable process after the last one (round robin); none left: back to the
///                 caller of RunAll (restore its context)
///   Switch(p)     CR3 = p's space (faults routed to it), TSS.RSP0 = p's kernel stack top,
///                 thread pointer (FS base; i386: the TLS descriptor), p's registers copied to
///                 its kernel stack, iret to ring 3
///   system call   runs on the caller's kernel stack and returns (sysret; i386: iret), unless it
///                 blocks (wait4: the registers are saved with the IP back on the `syscall` or
///                 `int 0x80` (both 2 bytes), so
///                 the call runs again when the process is resumed), yields or exits
///   Exit(p)       the space is destroyed at once (CR3 back to the kernel's tables first), the
///                 parent woken; the kernel stack is given back by Schedule, on its own stack
/// </code>
/// A process whose parent is gone is reaped when it exits (no init adopts it). The kernel stack
/// of a process is never in use once it has stopped, which is why nothing but its registers
/// needs saving. The table holds pointers: each process (its region set makes it tens of KiB)
/// is a vmalloc area of its own, made by Create and given back with its kernel stack.
/// </summary>
internal static unsafe class Processes
{
    /// <summary>Slots in the process table.</summary>
    public const int Max = 64;
    /// <summary>Each process's kernel stack: the library's calls keep maps of a few KiB on it,
    /// and mmap and mremap a trial copy of the region set (VmaSet, 56 KiB).</summary>
    public const ulong KernelStackBytes = 128UL << 10;
    private const ulong SchedulerStackBytes = 64UL << 10;
    private const ulong SyscallInstructionBytes = 2; // `syscall` and `int 0x80` alike

    private static Process** s_table;
    private static ulong* s_context;
    private static ulong s_area, s_schedulerStack;
    private static LiveUserMemory* s_machine;
    private static Process* s_current;
    private static int s_nextPid;
    private static int s_lastIndex;

    /// <summary>The process running now (null in the kernel's own context).</summary>
    public static Process* Current => s_current;
    /// <summary>The user memory manager every process's space belongs to.</summary>
    public static ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> Memory => ref s_machine->Memory;
    /// <summary>The layout of every process's space.</summary>
    public static UserLayout Layout => s_machine->Layout;
    /// <summary>Processes made since Init.</summary>
    public static int Created { get; private set; }
    /// <summary>The most user frames in RAM at once, sampled at every system call and fault.</summary>
    public static ulong PeakUserFrames;
    /// <summary>Called with each process that exits (the run report), may be null.</summary>
    public static delegate*<Process*, void> OnExit;

    /// <summary>
    /// Sets up the table and the scheduler stack over <paramref name="machine"/>. Return: Ok;
    /// OutOfMemory (nothing left allocated).
    /// </summary>
    public static Status Init(LiveUserMemory* machine)
    {
        ulong tableBytes = ((ulong)sizeof(Process*) * Max + 64 + 4095) & ~4095UL;
        KernelFrames kf = default;
        Status s = VmallocLargeMapper.Vm.Vmalloc(tableBytes, ref kf, ref KernelAddressSpace.Hooks, out ulong area);
        if (s != Status.Ok) return s;
        s = VmallocLargeMapper.Vm.Vmalloc(SchedulerStackBytes, ref kf, ref KernelAddressSpace.Hooks, out ulong stack);
        if (s != Status.Ok)
        {
            VmallocLargeMapper.Vm.Vfree(area, ref kf, ref KernelAddressSpace.Hooks);
            return s;
        }
        s_area = area;
        s_schedulerStack = stack;
        s_table = (Process**)area;
        for (int i = 0; i < Max; i++) s_table[i] = null;
        s_context = (ulong*)(area + (ulong)sizeof(Process*) * Max);
        s_machine = machine;
        s_current = null;
        s_nextPid = 1;
        s_lastIndex = Max - 1;
        Created = 0;
        PeakUserFrames = 0;
        return Status.Ok;
    }

    /// <summary>Gives the table and the scheduler stack back. Every process must be gone
    /// (a live one is a broken invariant: its memory would leak).</summary>
    public static void Shutdown()
    {
        for (int i = 0; i < Max; i++)
            if (s_table[i] != null) KernelPanic.Fail("processes: shut down with a process left", (ulong)s_table[i]->Pid);
        KernelFrames kf = default;
        VmallocLargeMapper.Vm.Vfree(s_schedulerStack, ref kf, ref KernelAddressSpace.Hooks);
        VmallocLargeMapper.Vm.Vfree(s_area, ref kf, ref KernelAddressSpace.Hooks);
        s_table = null;
        s_machine = null;
    }

    /// <summary>
    /// A new process with an empty address space and a kernel stack, not yet runnable (its
    /// registers are zero). Return: Ok; NoSpace (table full); OutOfMemory (nothing left allocated).
    /// </summary>
    public static Status Create(int parentPid, out Process* process)
    {
        process = null;
        int slot = -1;
        for (int i = 0; i < Max && slot < 0; i++)
            if (s_table[i] == null) slot = i;
        if (slot < 0) return Status.NoSpace;
        KernelFrames kf = default;
        Status s = VmallocLargeMapper.Vm.Vmalloc((ulong)sizeof(Process), ref kf, ref KernelAddressSpace.Hooks, out ulong area);
        if (s != Status.Ok) return s;
        s = VmallocLargeMapper.Vm.Vmalloc(KernelStackBytes, ref kf, ref KernelAddressSpace.Hooks, out ulong stack);
        if (s != Status.Ok)
        {
            VmallocLargeMapper.Vm.Vfree(area, ref kf, ref KernelAddressSpace.Hooks);
            return s;
        }
        var p = (Process*)area;
        *p = default;
        s_table[slot] = p;
        p->KernelStack = stack;
        p->Pid = s_nextPid++;
        p->ParentPid = parentPid;
        p->Regs.MakeUser();
        p->SetDefaultLimits(s_machine->Layout.StackMaxBytes, Max);
        process = p;
        Created++;
        return Status.Ok;
    }

    /// <summary>Gives back a process that never ran (its space, when live, and its stack):
    /// the undo of <see cref="Create"/> when exec fails.</summary>
    public static void Discard(Process* p)
    {
        if (p->Space.IsLive && Memory.Destroy(&p->Space, ref KernelAddressSpace.Hooks) != Status.Ok)
            KernelPanic.Fail("processes: discard could not destroy the space", (ulong)p->Pid);
        for (int i = 0; i < Max; i++)
            if (s_table[i] == p)
            {
                Release(i);
                return;
            }
        KernelPanic.Fail("processes: discard of a process not in the table", (ulong)p->Pid);
    }

    /// <summary>Makes <paramref name="p"/> runnable with user instruction pointer
    /// <paramref name="entry"/> and stack pointer <paramref name="stack"/>.</summary>
    public static void Start(Process* p, ulong entry, ulong stack)
    {
        p->Regs.InstructionPointer = entry;
        p->Regs.StackPointer = stack;
        p->State = ProcessState.Runnable;
    }

    /// <summary>Runs every runnable process until none is left (all exited, or the rest wait
    /// for nothing), then returns on the caller's stack with the kernel's tables loaded.</summary>
    public static void RunAll()
    {
        if (UserMode.SaveContext(s_context) == 0)
            UserMode.RunOnStack(s_schedulerStack + SchedulerStackBytes, &Schedule);
        // Resumed by Schedule (RestoreContext) when nothing is left to run.
    }

    private static void Schedule()
    {
        for (int i = 0; i < Max; i++)
            if (s_table[i] != null && s_table[i]->State == ProcessState.Free) Release(i);
        for (int k = 1; k <= Max; k++)
        {
            int i = (s_lastIndex + k) % Max;
            if (s_table[i] == null || s_table[i]->State != ProcessState.Runnable) continue;
            s_lastIndex = i;
            Switch(s_table[i]);
        }
        s_current = null;
        DemandPaging.Load(null, null);
        UserMode.RestoreContext(s_context);
    }

    private static void Switch(Process* p)
    {
        s_current = p;
        DemandPaging.Load(&s_machine->Memory, &p->Space);
        UserMode.SetKernelStack(p->KernelStackTop);
        UserMode.ThreadPointer = p->ThreadPointer;
        var frame = (InterruptFrame*)(p->KernelStackTop - (ulong)sizeof(InterruptFrame));
        *frame = p->Regs;
        UserMode.EnterUser(frame);
    }

    /// <summary>Leaves the running process (registers already saved) for the scheduler, on the
    /// scheduler's stack. Never returns.</summary>
    public static void Reschedule() => UserMode.RunOnStack(s_schedulerStack + SchedulerStackBytes, &Schedule);

    /// <summary>Stops the current process in its system call (the frame of it) until a child
    /// exits: it is resumed on the `syscall` instruction, so the call runs again. Never returns.</summary>
    public static void BlockInSyscall(InterruptFrame* frame)
    {
        Process* p = s_current;
        p->Regs = *frame;
        p->Regs.InstructionPointer -= SyscallInstructionBytes;
        p->State = ProcessState.Waiting;
        Reschedule();
    }

    /// <summary>Lets the others run; the current process resumes after its system call with
    /// <paramref name="result"/>. Never returns.</summary>
    public static void Yield(InterruptFrame* frame, ulong result)
    {
        Process* p = s_current;
        p->Regs = *frame;
        p->Regs.SyscallResult = result;
        Reschedule();
    }

    /// <summary>
    /// fork: a child with a copy-on-write copy of the parent's space that resumes from the same
    /// system call with 0. Return: the child's pid; -ENOMEM / -EAGAIN (table full).
    /// </summary>
    public static long Fork(InterruptFrame* frame) => Fork(frame, out _);

    /// <summary>fork, and the child (null when it failed).</summary>
    public static long Fork(InterruptFrame* frame, out Process* child)
    {
        Process* parent = s_current;
        Status s = Create(parent->Pid, out child);
        if (s == Status.NoSpace) return -EAGAIN;
        if (s != Status.Ok) return -ENOMEM;
        s = Memory.Fork(&parent->Space, &child->Space, ref KernelAddressSpace.Hooks);
        if (s != Status.Ok)
        {
            Discard(child);
            child = null;
            return s == Status.NoSpace ? -EAGAIN : -ENOMEM;
        }
        child->Regs = *frame;
        child->Regs.SyscallResult = 0;
        child->ThreadPointer = parent->ThreadPointer;
        child->SignalMask = parent->SignalMask;
        child->ClearChildTid = parent->ClearChildTid;
        for (int i = 0; i < Process.MaxFds; i++)
        {
            child->Fds[i] = parent->Fds[i];
            child->FdOffsets[i] = parent->FdOffsets[i];
        }
        for (int i = 0; i < 65; i++) child->SignalHandlers[i] = parent->SignalHandlers[i];
        for (int i = 0; i < Process.RlimitCount; i++)
        {
            child->LimitSoft[i] = parent->LimitSoft[i];
            child->LimitHard[i] = parent->LimitHard[i];
        }
        child->State = ProcessState.Runnable;
        return child->Pid;
    }

    /// <summary>
    /// wait4(pid, ...) for the current process: a zombie child that matches (pid -1 or 0: any,
    /// else that pid) is reaped and its pid returned with its status; none yet: block (or 0 with
    /// WNOHANG); no such child: -ECHILD. <paramref name="status"/> gets the wait status.
    /// </summary>
    public static long Wait(InterruptFrame* frame, long pid, bool noHang, out int status, out Process* reaped)
    {
        status = 0;
        reaped = null;
        Process* p = s_current;
        bool any = false;
        for (int i = 0; i < Max; i++)
        {
            Process* c = s_table[i];
            if (c == null || c->State == ProcessState.Free || c->ParentPid != p->Pid) continue;
            if (pid > 0 && c->Pid != pid) continue;
            any = true;
            if (c->State != ProcessState.Zombie) continue;
            status = c->WaitStatus;
            reaped = c;
            return c->Pid;
        }
        if (!any) return -ECHILD;
        if (noHang) return 0;
        BlockInSyscall(frame);
        return 0;
    }

    /// <summary>Frees a reaped zombie's slot (its kernel stack and area go at the next Schedule).</summary>
    public static void Reap(Process* zombie)
    {
        zombie->State = ProcessState.Free;
    }

    /// <summary>
    /// Ends the current process with <paramref name="waitStatus"/> (Linux's encoding): its
    /// address space goes at once, its children are orphaned (zombies among them reaped), the
    /// parent is woken or, when gone, the process is reaped itself. Never returns.
    /// </summary>
    public static void Exit(int waitStatus)
    {
        Process* p = s_current;
        DemandPaging.Load(null, null);
        if (Memory.Destroy(&p->Space, ref KernelAddressSpace.Hooks) != Status.Ok)
            KernelPanic.Fail("processes: exit could not destroy the space", (ulong)p->Pid);
        p->WaitStatus = waitStatus;
        p->State = ProcessState.Zombie;
        if (OnExit != null) OnExit(p);
        Process* parent = null;
        for (int i = 0; i < Max; i++)
        {
            Process* q = s_table[i];
            if (q == null || q->State == ProcessState.Free) continue;
            if (q->ParentPid == p->Pid)
            {
                q->ParentPid = 0;
                if (q->State == ProcessState.Zombie) q->State = ProcessState.Free;
            }
            if (q->Pid == p->ParentPid && q != p) parent = q;
        }
        if (parent == null || parent->State == ProcessState.Zombie) p->State = ProcessState.Free;
        else if (parent->State == ProcessState.Waiting) parent->State = ProcessState.Runnable;
        s_current = null;
        Reschedule();
    }

    /// <summary>Kills the current process with signal <paramref name="signal"/> after a report
    /// on the kernel log: "user: pid N killed by SIGNAME at 0xADDR (rip 0xRIP): WHY". Never returns.</summary>
    public static void Kill(int signal, ulong address, ulong rip, string why, string detail)
    {
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("user: pid ");
        w.Dec((ulong)s_current->Pid);
        w.Str(" killed by ");
        w.Str(Signals.Name(signal));
        w.Str(" at ");
        w.Hex(address, 16);
        w.Str(" (rip ");
        w.Hex(rip, 16);
        w.Str("): ");
        w.Str(why);
        if (detail != null)
        {
            w.Str(": ");
            w.Str(detail);
        }
        w.Line();
        Exit(signal);
    }

    /// <summary>Records the resident set's high-water mark.</summary>
    public static void SamplePeak()
    {
        ulong n = Memory.UserFrames;
        if (n > PeakUserFrames) PeakUserFrames = n;
    }

    // Gives back slot i's process: its kernel stack and its own area. Runs on the scheduler's
    // stack, or for a process that never ran: never on the stack it frees.
    private static void Release(int i)
    {
        Process* p = s_table[i];
        KernelFrames kf = default;
        if (VmallocLargeMapper.Vm.Vfree(p->KernelStack, ref kf, ref KernelAddressSpace.Hooks) != Status.Ok)
            KernelPanic.Fail("processes: vfree of a kernel stack failed", p->KernelStack);
        if (VmallocLargeMapper.Vm.Vfree((ulong)p, ref kf, ref KernelAddressSpace.Hooks) != Status.Ok)
            KernelPanic.Fail("processes: vfree of a process failed", (ulong)p);
        s_table[i] = null;
    }
}
