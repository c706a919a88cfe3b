using System.Runtime;
using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.User;
using SharpMM.User.Exec;
using SharpMM.User.Linux;
using static SharpMM.User.Linux.LinuxErrno;

namespace SharpMM.Kernel;

/// <summary>
/// The system calls. The architecture's <see cref="SyscallAbi"/> reads the number and the
/// arguments from the frame the entry built (x86-64: rax; rdi, rsi, rdx, r10, r8, r9. i386:
/// eax; ebx, ecx, edx, esi, edi, ebp), handles the calls only its ABI has, and hands the rest
/// to <see cref="Call"/>, which numbers them as Linux x86-64 does; the result (or -errno) goes
/// back in rax / eax. Structures whose fields are the size of a user word (iovec, timespec,
/// rlimit, sigaction, rusage) are read and written in the architecture's word
/// (<see cref="UserMode.WordBytes"/>). Every user pointer goes
/// through the library's <see cref="UserCopy"/> on the process's space (<see cref="CopyIn"/>,
/// <see cref="CopyOut"/>): a kernel-half, non-canonical, unmapped or forbidden address is EFAULT,
/// never a kernel fault. Any other number returns -ENOSYS and is named once on the kernel log.
/// <code>
///   memory     brk mmap munmap mprotect mremap madvise: the library's LinuxMemoryCalls (Linux's
///              argument rules and errno values), files mapped MAP_PRIVATE from their FileImage
///   processes  fork vfork clone (fork's flags only) wait4 exit exit_group getpid getppid gettid
///              sched_yield
///   start-up   set_tid_address rt_sigprocmask rt_sigaction (recorded, 0) ioctl
///              (ENOTTY on the console) uname prlimit64 getrlimit setrlimit
///   i/o        read (fd 0: end of file) write writev (fd 1, 2) open openat read pread64 lseek fstat
///              close on the run's files (read-only)
///   time       clock_gettime (TSC) nanosleep (returns at once) getrandom (seeded generator)
/// </code>
/// </summary>
internal static unsafe class Syscalls
{
    public const int Read = 0, Write = 1, Open = 2, Close = 3, Fstat = 5, Lseek = 8, Mmap = 9, Mprotect = 10, Munmap = 11, Brk = 12,
        RtSigaction = 13, RtSigprocmask = 14, Ioctl = 16, Pread64 = 17, Writev = 20, SchedYield = 24, Mremap = 25,
        Madvise = 28, Nanosleep = 35, Getpid = 39, Clone = 56, Fork = 57, Vfork = 58, Exit = 60, Wait4 = 61,
        Uname = 63, Getrlimit = 97, Setrlimit = 160, Getppid = 110, ArchPrctl = 158, Gettid = 186, SetTidAddress = 218,
        ClockGettime = 228, ExitGroup = 231, Openat = 257, Prlimit64 = 302, Getrandom = 318;

    private const int MaxNumber = 512;
    private static ReportedBits s_reported;
    private static CountArray s_counts;
    private static ulong s_random;

    [System.Runtime.CompilerServices.InlineArray(MaxNumber / 64)] private struct ReportedBits { private ulong _w; }
    [System.Runtime.CompilerServices.InlineArray(MaxNumber)] private struct CountArray { private ulong _c; }

    /// <summary>Clears the counts and the "logged once" set, and seeds getrandom.</summary>
    public static void ResetCounts(ulong seed)
    {
        s_counts = default;
        s_reported = default;
        s_random = seed;
    }

    /// <summary>The count of system call <paramref name="number"/>.</summary>
    public static ulong Count(int number) => (uint)number < MaxNumber ? s_counts[number] : 0;

    [RuntimeExport("syscall_dispatch")]
    private static void Dispatch(InterruptFrame* f)
    {
        Process* p = Processes.Current;
        if (p == null) KernelPanic.Fail("syscall: no current process");
        long r = SyscallAbi.Handle(p, f);
        f->SyscallResult = (ulong)r;
        Processes.SamplePeak();
        // x86-64: sysret to a non-canonical RIP would fault in ring 0 with the user's stack loaded.
        if (!UserMode.CanReturnTo(f->InstructionPointer))
            Processes.Kill(Signals.SIGSEGV, f->InstructionPointer, f->InstructionPointer, "return to a non-canonical address", null);
    }

    /// <summary>System call <paramref name="nr"/> (Linux x86-64's number) with its arguments,
    /// for the current process <paramref name="p"/> stopped in frame <paramref name="f"/>.
    /// Return: the result, or -errno.</summary>
    public static long Call(Process* p, InterruptFrame* f, ulong nr, ulong a0, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        if (nr < MaxNumber) s_counts[(int)nr]++;
        switch (nr)
        {
            case Read: return DoRead(p, (int)a0, a1, a2, false, 0);
            case Pread64: return (long)a3 < 0 ? -EINVAL : DoRead(p, (int)a0, a1, a2, true, a3);
            case Write: return DoWrite(p, (int)a0, a1, a2);
            case Writev: return DoWritev(p, (int)a0, a1, (long)a2);
            case Openat: return DoOpen(p, (int)a0, a1, a2);
            case Open: return DoOpen(p, AtFdCwd, a0, a1);
            case Close: return DoClose(p, (int)a0);
            case Lseek: return DoSeek(p, (int)a0, (long)a1, (int)a2);
            case Fstat: return DoFstat(p, (int)a0, a1);
            case Ioctl: return FdKind(p, (int)a0) == 0 ? -EBADF : -ENOTTY;
            case Brk: return KernelLinuxCalls.Brk(ref Processes.Memory, &p->Space, a0, p->MemoryLimits, ref KernelAddressSpace.Hooks);
            case Mmap: return DoMmap(p, a0, a1, a2, a3, (int)a4, a5);
            case Munmap: return KernelLinuxCalls.Munmap(ref Processes.Memory, &p->Space, a0, a1, ref KernelAddressSpace.Hooks);
            case Mprotect: return KernelLinuxCalls.Mprotect(ref Processes.Memory, &p->Space, a0, a1, a2, ref KernelAddressSpace.Hooks);
            case Mremap: return KernelLinuxCalls.Mremap(ref Processes.Memory, &p->Space, a0, a1, a2, a3, a4, p->MemoryLimits, ref KernelAddressSpace.Hooks);
            case Madvise: return KernelLinuxCalls.Madvise(ref Processes.Memory, &p->Space, a0, a1, (int)a2, ref KernelAddressSpace.Hooks);
            case Fork: case Vfork: return Processes.Fork(f);
            case Clone: return DoClone(p, f, a0, a1, a2, a3);
            case Wait4: return DoWait(p, f, (long)a0, a1, a2, a3);
            case Exit: case ExitGroup: Processes.Exit((int)((a0 & 0xFF) << 8)); return 0;
            case Getpid: case Gettid: return p->Pid;
            case Getppid: return p->ParentPid;
            case SchedYield: Processes.Yield(f, 0); return 0;
            case SetTidAddress: p->ClearChildTid = a0; return p->Pid;
            case RtSigprocmask: return DoSigprocmask(p, (int)a0, a1, a2, a3);
            case RtSigaction: return DoSigaction(p, (int)a0, a1, a2, a3);
            case Uname: return DoUname(p, a0);
            case Getrlimit: return DoRlimit(p, (int)a0, 0, a1, UserMode.WordBytes);
            case Setrlimit: return DoRlimit(p, (int)a0, a1, 0, UserMode.WordBytes);
            case Prlimit64: return a0 != 0 && (long)a0 != p->Pid ? -ESRCH : DoRlimit(p, (int)a1, a2, a3, 8);
            case ClockGettime: return Clock(p, (int)a0, a1, UserMode.WordBytes);
            case Nanosleep: return DoNanosleep(p, a0);
            case Getrandom: return DoRandom(p, a0, a1, a2);
        }
        return NotImplemented(p, nr);
    }

    /// <summary>-ENOSYS for call <paramref name="nr"/> (the architecture's own number), named on
    /// the kernel log the first time.</summary>
    public static long NotImplemented(Process* p, ulong nr)
    {
        if (nr < MaxNumber && (s_reported[(int)(nr >> 6)] & (1UL << (int)(nr & 63))) == 0)
        {
            s_reported[(int)(nr >> 6)] |= 1UL << (int)(nr & 63);
            TextWriter<SerialSink> w = Log.Writer();
            w.Str("syscall: pid ");
            w.Dec((ulong)p->Pid);
            w.Str(" called number ");
            w.Dec(nr);
            w.Line(", not implemented: ENOSYS (logged once per number)");
        }
        return -ENOSYS;
    }

    // ---- user words (8 bytes on x86-64, 4 on i386) ----

    // Word i of a structure read from user memory, zero-extended.
    private static ulong Word(byte* b, int i) => UserMode.WordBytes == 8 ? ((ulong*)b)[i] : ((uint*)b)[i];

    private static void SetWord(byte* b, int i, ulong v)
    {
        if (UserMode.WordBytes == 8) ((ulong*)b)[i] = v;
        else ((uint*)b)[i] = (uint)v;
    }

    // A user word as the signed value (ssize_t, long) it is.
    private static long Signed(ulong word) => UserMode.WordBytes == 8 ? (long)word : (int)(uint)word;

    // ---- file descriptors ----

    // 0 for a closed or out-of-range descriptor.
    internal static int FdKind(Process* p, int fd) => (uint)fd < Process.MaxFds ? p->Fds[fd] : 0;

    // Linux's access_ok: a buffer a call names must end within user space (below the kernel
    // half) before anything is done with it; that its pages are mapped is UserCopy's business.
    private static bool AccessOk(Process* p, ulong addr, ulong bytes) => addr + bytes >= addr && addr + bytes <= p->Space.Layout.UserEnd;

    private static bool IsOutput(int kind) => kind == Process.FdConsoleOut || kind == Process.FdConsoleErr;

    private static long DoWrite(Process* p, int fd, ulong buf, ulong count)
    {
        int kind = FdKind(p, fd);
        if (!IsOutput(kind)) return -EBADF; // closed, standard input, or a (read-only) file
        if (!AccessOk(p, buf, count)) return -EFAULT;
        // Page by page (at most 512 bytes at a time): the bytes before a page that cannot be
        // read are written, and the call returns their count, as Linux's tty write does.
        byte* chunk = stackalloc byte[512];
        ulong done = 0;
        while (done < count)
        {
            ulong toPage = PageSize.Bytes - ((buf + done) & PageSize.OffsetMask);
            ulong n = count - done < 512 ? count - done : 512;
            if (n > toPage) n = toPage;
            long e = CopyIn(p, buf + done, chunk, n);
            if (e != 0) return done != 0 ? (long)done : e;
            UserOutput.Write(kind == Process.FdConsoleErr ? 2 : 1, chunk, (int)n);
            done += n;
        }
        return (long)done;
    }

    private const long MaxIovecs = 1024; // UIO_MAXIOV

    // As Linux's import_iovec: the whole vector is read and checked (EINVAL, EFAULT) before a
    // byte is written; then the buffers are written in order, a failure after the first byte
    // ending the call with the count written.
    private static long DoWritev(Process* p, int fd, ulong iov, long count)
    {
        if (!IsOutput(FdKind(p, fd))) return -EBADF;
        if (count < 0 || count > MaxIovecs) return -EINVAL;
        ulong size = 2 * (ulong)UserMode.WordBytes; // struct iovec: base, length
        byte* v = stackalloc byte[16];
        for (long i = 0; i < count; i++)
        {
            if (CopyIn(p, iov + (ulong)i * size, v, size) is long e and not 0) return e;
            if (Signed(Word(v, 1)) < 0) return -EINVAL;
            if (!AccessOk(p, Word(v, 0), Word(v, 1))) return -EFAULT;
        }
        long total = 0;
        for (long i = 0; i < count; i++)
        {
            if (CopyIn(p, iov + (ulong)i * size, v, size) is long e and not 0) return total != 0 ? total : e;
            ulong length = Word(v, 1);
            if (length == 0) continue;
            long r = DoWrite(p, fd, Word(v, 0), length);
            if (r < 0) return total != 0 ? total : r;
            total += r;
            if ((ulong)r < length) break;
        }
        return total;
    }

    private static long DoRead(Process* p, int fd, ulong buf, ulong count, bool positioned, ulong position)
    {
        int kind = FdKind(p, fd);
        if (kind == 0) return -EBADF;
        if (kind == Process.FdConsoleIn) return positioned ? -ESPIPE : AccessOk(p, buf, count) ? 0 : -EFAULT; // standard input is empty
        if (kind < 0) return positioned ? -ESPIPE : -EBADF;     // stdout/stderr are write-only
        if (!AccessOk(p, buf, count)) return -EFAULT;
        int file = kind - 1;
        ulong offset = positioned ? position : p->FdOffsets[fd];
        ulong size = RunFiles.Image(file)->Length;
        if (offset >= size || count == 0) return 0;
        ulong n = size - offset < count ? size - offset : count;
        long e = CopyOut(p, buf, RunFiles.Image(file)->Data + offset, n);
        if (e != 0) return e;
        if (!positioned) p->FdOffsets[fd] = offset + n;
        return (long)n;
    }

    private const int AtFdCwd = -100;

    private static long DoOpen(Process* p, int dirfd, ulong path, ulong flags)
    {
        byte* name = stackalloc byte[256];
        Status s = UserCopy.StringFromUser(ref Processes.Memory, &p->Space, path, name, 256, ref KernelAddressSpace.Hooks, out ulong len);
        if (s != Status.Ok) return ErrnoOf(s);
        if (len == 0) return -ENOENT;
        if (name[0] != '/' && dirfd != AtFdCwd) return FdKind(p, dirfd) == 0 ? -EBADF : -ENOTDIR;
        int file = RunFiles.Find(name, (int)len);
        if (file < 0) return (flags & 0x40) != 0 ? -EROFS : -ENOENT; // O_CREAT on a read-only tree
        if ((flags & 3) != 0 || (flags & 0x200) != 0) return -EROFS;          // write access, O_TRUNC
        if ((flags & 0x10000) != 0) return -ENOTDIR;                          // O_DIRECTORY
        for (int fd = 0; fd < Process.MaxFds; fd++)
        {
            if (p->Fds[fd] != 0) continue;
            p->Fds[fd] = file + 1;
            p->FdOffsets[fd] = 0;
            return fd;
        }
        return -EMFILE;
    }

    private static long DoClose(Process* p, int fd)
    {
        if (FdKind(p, fd) == 0) return -EBADF;
        p->Fds[fd] = 0;
        p->FdOffsets[fd] = 0;
        return 0;
    }

    private static long DoSeek(Process* p, int fd, long offset, int whence)
    {
        int kind = FdKind(p, fd);
        if (kind == 0) return -EBADF;
        if (kind < 0) return -ESPIPE;
        long basis = whence switch { 0 => 0, 1 => (long)p->FdOffsets[fd], 2 => (long)RunFiles.Image(kind - 1)->Length, _ => -1 };
        if (basis < 0) return -EINVAL;
        long to = basis + offset;
        if (to < 0 || (offset > 0 && to < basis)) return -EINVAL;
        p->FdOffsets[fd] = (ulong)to;
        return to;
    }

    private static long DoFstat(Process* p, int fd, ulong statBuf)
    {
        if (!Describe(p, fd, out ulong ino, out uint mode, out ulong rdev, out ulong size)) return -EBADF;
        // struct stat (x86-64): dev ino nlink (8 each), mode uid gid (4 each), pad, rdev size
        // blksize blocks (8 each), then three timespecs and padding: 144 bytes.
        byte* st = stackalloc byte[144];
        for (int i = 0; i < 144; i++) st[i] = 0;
        *(ulong*)(st + 8) = ino;
        *(ulong*)(st + 16) = 1;                                        // nlink
        *(uint*)(st + 24) = mode;
        *(ulong*)(st + 40) = rdev;
        *(ulong*)(st + 48) = size;
        *(ulong*)(st + 56) = 4096;                                     // blksize
        *(ulong*)(st + 64) = (size + 511) / 512;
        return CopyOut(p, statBuf, st, 144);
    }

    /// <summary>What fstat says of descriptor <paramref name="fd"/>: the console a character
    /// device (a serial tty, mode 0620), a run file a read-only regular file. False: not open.</summary>
    internal static bool Describe(Process* p, int fd, out ulong ino, out uint mode, out ulong rdev, out ulong size)
    {
        int kind = FdKind(p, fd);
        ino = (ulong)(kind < 0 ? -kind : 16 + kind);
        mode = kind < 0 ? 0x2190u : 0x8124u;                           // S_IFCHR | 0620, S_IFREG | 0444
        rdev = kind < 0 ? 0x8801UL : 0;                                // a serial tty
        size = kind > 0 ? RunFiles.Image(kind - 1)->Length : 0;
        return kind != 0;
    }

    // mmap: a file descriptor names a run file's image (mapped MAP_PRIVATE, its pages read in on
    // first touch); the console cannot be mapped (ENODEV, as a tty on Linux).
    private static long DoMmap(Process* p, ulong addr, ulong length, ulong prot, ulong flags, int fd, ulong offset)
    {
        // x86-64's sys_mmap refuses an unaligned offset before it looks at the descriptor.
        if ((offset & PageSize.OffsetMask) != 0) return -EINVAL;
        FileImage* file = null;
        if ((flags & LinuxMap.MAP_ANONYMOUS) == 0)
        {
            int kind = FdKind(p, fd);
            if (kind == 0) return -EBADF;
            if (kind < 0) return -ENODEV;
            file = RunFiles.Image(kind - 1);
        }
        return KernelLinuxCalls.Mmap(ref Processes.Memory, &p->Space, addr, length, prot, flags, file, offset, p->MemoryLimits, ref KernelAddressSpace.Hooks);
    }

    // ---- processes ----

    // clone(flags, newsp, parent_tid, child_tid, tls), x86-64's order: only what fork() is (a
    // new process, no shared memory, no new stack or TLS), with the thread-id words glibc's fork
    // asks for: CLONE_CHILD_SETTID (the child's pid written to child_tid in the child's memory),
    // CLONE_CHILD_CLEARTID (child_tid recorded as set_tid_address would), CLONE_PARENT_SETTID (the
    // pid written to parent_tid in the parent's). As on Linux, a failed write of a tid is ignored.
    private static long DoClone(Process* p, InterruptFrame* f, ulong flags, ulong newStack, ulong parentTid, ulong childTid)
    {
        const ulong Sigchld = 17, ParentSettid = 0x00100000, ChildCleartid = 0x00200000, ChildSettid = 0x01000000;
        if ((flags & ~(ParentSettid | ChildCleartid | ChildSettid)) != Sigchld || newStack != 0) return -EINVAL;
        long pid = Processes.Fork(f, out Process* child);
        if (pid < 0) return pid;
        int tid = (int)pid;
        if ((flags & ChildSettid) != 0)
            UserCopy.ToUser(ref Processes.Memory, &child->Space, childTid, (byte*)&tid, 4, ref KernelAddressSpace.Hooks);
        if ((flags & ChildCleartid) != 0) child->ClearChildTid = childTid;
        if ((flags & ParentSettid) != 0) CopyOut(p, parentTid, &tid, 4);
        return pid;
    }

    private static long DoWait(Process* p, InterruptFrame* f, long pid, ulong status, ulong options, ulong rusage)
    {
        const ulong Known = 1 | 2 | 8 | 0x01000000 | 0x20000000 | 0x40000000 | 0x80000000; // WNOHANG WUNTRACED WCONTINUED WNOWAIT __WNOTHREAD __WALL __WCLONE
        if ((options & ~Known) != 0 || pid == long.MinValue) return -EINVAL;
        long r = Processes.Wait(f, pid, (options & 1) != 0, out int ws, out Process* reaped);
        if (r <= 0) return r;
        if (status != 0 && CopyOut(p, status, &ws, 4) is long e and not 0) return e;
        if (rusage != 0)
        {
            // struct rusage: two timevals and 14 longs, 18 words.
            ulong bytes = 18 * (ulong)UserMode.WordBytes;
            byte* ru = stackalloc byte[144];
            for (int i = 0; i < 144; i++) ru[i] = 0;
            if (CopyOut(p, rusage, ru, bytes) is long g and not 0) return g;
        }
        Processes.Reap(reaped);
        return r;
    }

    private static long DoSigprocmask(Process* p, int how, ulong set, ulong old, ulong setSize)
    {
        if (setSize != 8) return -EINVAL;
        ulong previous = p->SignalMask;
        if (set != 0)
        {
            ulong s;
            if (CopyIn(p, set, &s, 8) is long e and not 0) return e;
            const ulong Unblockable = (1UL << 8) | (1UL << 18); // SIGKILL, SIGSTOP (bit = signal - 1)
            if (how == 0) p->SignalMask |= s;
            else if (how == 1) p->SignalMask &= ~s;
            else if (how == 2) p->SignalMask = s;
            else return -EINVAL;
            p->SignalMask &= ~Unblockable;
        }
        if (old != 0 && CopyOut(p, old, &previous, 8) is long f and not 0) return f;
        return 0;
    }

    private static long DoSigaction(Process* p, int signal, ulong act, ulong old, ulong setSize)
    {
        if (setSize != 8 || signal < 1 || signal > 64) return -EINVAL;
        if (act != 0 && (signal == 9 || signal == 19)) return -EINVAL;
        ulong previous = p->SignalHandlers[signal];
        // struct sigaction: handler, flags, restorer (a word each), mask (8 bytes).
        ulong bytes = 3 * (ulong)UserMode.WordBytes + 8;
        if (act != 0)
        {
            byte* a = stackalloc byte[8];
            if (CopyIn(p, act, a, (ulong)UserMode.WordBytes) is long e and not 0) return e;
            p->SignalHandlers[signal] = Word(a, 0);
        }
        if (old != 0)
        {
            byte* o = stackalloc byte[32];
            for (int i = 0; i < 32; i++) o[i] = 0;
            SetWord(o, 0, previous);
            if (CopyOut(p, old, o, bytes) is long f and not 0) return f;
        }
        return 0;
    }

    private static long DoUname(Process* p, ulong buf)
    {
        const int Field = 65;
        byte* u = stackalloc byte[Field * 6];
        for (int i = 0; i < Field * 6; i++) u[i] = 0;
        Put(u, "Linux");
        Put(u + Field, "sharpmm");
        Put(u + Field * 2, "6.1.0-sharpmm");
        Put(u + Field * 3, "#1 SMP SharpMM");
        Put(u + Field * 4, UserMode.MachineName);
        Put(u + Field * 5, "(none)");
        return CopyOut(p, buf, u, Field * 6);
    }

    private static void Put(byte* dst, string s)
    {
        for (int i = 0; i < s.Length; i++) dst[i] = (byte)s[i];
    }

    // prlimit64 and getrlimit: the new limit read and checked first, the old one written, then
    // the new one kept (Linux's order). The kernel runs every program with full privileges, so
    // raising a hard limit is allowed. RLIMIT_AS and RLIMIT_DATA bound the memory calls
    // (Process.MemoryLimits); RLIMIT_STACK is reported but the stack's reach stays the layout's.
    // struct rlimit is two words of `word` bytes (prlimit64: always 8); with 4-byte words a
    // limit above 4 GiB reads as RLIM_INFINITY (0xffffffff), as i386's ugetrlimit reports it.
    internal static long DoRlimit(Process* p, int resource, ulong newLimit, ulong oldLimit, int word)
    {
        if ((uint)resource >= Process.RlimitCount) return -EINVAL;
        ulong* l = stackalloc ulong[2]; // struct rlimit: soft, hard
        ulong bytes = 2 * (ulong)word;
        if (newLimit != 0)
        {
            uint* u = stackalloc uint[2];
            if (word == 8) { if (CopyIn(p, newLimit, l, 16) is long e and not 0) return e; }
            else
            {
                if (CopyIn(p, newLimit, u, 8) is long e and not 0) return e;
                l[0] = u[0] == uint.MaxValue ? ulong.MaxValue : u[0];
                l[1] = u[1] == uint.MaxValue ? ulong.MaxValue : u[1];
            }
            if (l[0] > l[1]) return -EINVAL;
            if (resource == Process.RlimitNofile && l[1] > Process.MaxFds) return -EPERM;
        }
        if (oldLimit != 0)
        {
            ulong* old = stackalloc ulong[2];
            old[0] = p->LimitSoft[resource];
            old[1] = p->LimitHard[resource];
            if (word == 4)
            {
                uint* o = (uint*)old;
                o[0] = old[0] > uint.MaxValue ? uint.MaxValue : (uint)old[0];
                o[1] = old[1] > uint.MaxValue ? uint.MaxValue : (uint)old[1];
            }
            if (CopyOut(p, oldLimit, old, bytes) is long e and not 0) return e;
        }
        if (newLimit != 0)
        {
            p->LimitSoft[resource] = l[0];
            p->LimitHard[resource] = l[1];
        }
        return 0;
    }

    // ---- user memory ----

    /// <summary>Copies <paramref name="bytes"/> from user <paramref name="src"/> to kernel
    /// <paramref name="dst"/>. Return: 0, or -errno (<see cref="ErrnoOf"/>).</summary>
    internal static long CopyIn(Process* p, ulong src, void* dst, ulong bytes) =>
        ErrnoOf(UserCopy.FromUser(ref Processes.Memory, &p->Space, src, (byte*)dst, bytes, ref KernelAddressSpace.Hooks));

    /// <summary>Copies <paramref name="bytes"/> from kernel <paramref name="src"/> to user
    /// <paramref name="dst"/>. Return: 0, or -errno (<see cref="ErrnoOf"/>).</summary>
    internal static long CopyOut(Process* p, ulong dst, void* src, ulong bytes) =>
        ErrnoOf(UserCopy.ToUser(ref Processes.Memory, &p->Space, dst, (byte*)src, bytes, ref KernelAddressSpace.Hooks));

    // UserCopy's statuses as the system call's errno (its table): no frame is ENOMEM, a string
    // past the caller's limit ENAMETOOLONG, every other refusal EFAULT.
    internal static long ErrnoOf(Status s) => s switch
    {
        Status.Ok => 0,
        Status.OutOfMemory => -ENOMEM,
        Status.Overflow => -ENAMETOOLONG,
        _ => -EFAULT,
    };

    // ---- time and randomness ----

    /// <summary>clock_gettime: the time of <paramref name="clock"/> as a struct timespec of two
    /// words of <paramref name="word"/> bytes at user <paramref name="ts"/> (i386's
    /// clock_gettime64: 8-byte words).</summary>
    internal static long Clock(Process* p, int clock, ulong ts, int word)
    {
        ulong ns = Tsc.MonotonicNs;
        ulong sec = ns / 1_000_000_000UL, nsec = ns % 1_000_000_000UL;
        switch (clock)
        {
            case 0: case 5: case 8: sec += Tsc.BootUnixSeconds; break;     // REALTIME, REALTIME_COARSE, REALTIME_ALARM
            case 1: case 4: case 6: case 7: case 9: break;                  // MONOTONIC, _RAW, _COARSE, BOOTTIME, BOOTTIME_ALARM
            case 2: case 3: break;                                           // PROCESS/THREAD_CPUTIME: time since boot
            default: return -EINVAL;
        }
        ulong* t = stackalloc ulong[2];
        if (word == 8)
        {
            t[0] = sec;
            t[1] = nsec;
        }
        else
        {
            ((uint*)t)[0] = (uint)sec; // a 32-bit time_t: good until 2038
            ((uint*)t)[1] = (uint)nsec;
        }
        return CopyOut(p, ts, t, 2 * (ulong)word);
    }

    private static long DoNanosleep(Process* p, ulong req)
    {
        byte* t = stackalloc byte[16]; // struct timespec: seconds, nanoseconds (a word each)
        if (CopyIn(p, req, t, 2 * (ulong)UserMode.WordBytes) is long e and not 0) return e;
        long sec = Signed(Word(t, 0)), nsec = Signed(Word(t, 1));
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000L) return -EINVAL;
        return 0; // returns at once: nothing else would run meanwhile
    }

    private static long DoRandom(Process* p, ulong buf, ulong count, ulong flags)
    {
        if ((flags & ~7UL) != 0) return -EINVAL;
        if ((long)count < 0) return -EINVAL;
        ulong n = count > 33554431 ? 33554431 : count;
        byte* chunk = stackalloc byte[256];
        ulong done = 0;
        while (done < n)
        {
            ulong k = n - done < 256 ? n - done : 256;
            for (ulong i = 0; i < k; i += 8)
            {
                ulong r = NextRandom();
                for (ulong b = 0; b < 8 && i + b < k; b++) chunk[i + b] = (byte)(r >> (int)(8 * b));
            }
            long e = CopyOut(p, buf + done, chunk, k);
            if (e != 0) return done != 0 ? (long)done : e;
            done += k;
        }
        return (long)n;
    }

    // splitmix64 over a seed from the boot TSC: unpredictable enough for hash seeds and
    // AT_RANDOM canaries in tests; not a cryptographic generator.
    public static ulong NextRandom()
    {
        ulong z = s_random += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
