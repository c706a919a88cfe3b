using SharpMM.User.Exec;
using static SharpMM.User.Linux.LinuxErrno;

namespace SharpMM.Kernel;

/// <summary>
/// The i386 system call ABI: `int 0x80` with the number in eax and the arguments in ebx, ecx,
/// edx, esi, edi, ebp (the frame the vector-0x80 stub built); the result in eax. Calls that
/// mean the same as on x86-64 go to the shared <see cref="Syscalls.Call"/> under their x86-64
/// number; the ones whose arguments or structures are i386's own are handled here:
/// <code>
///   mmap2 (offset in pages), old_mmap (the six arguments in a user structure), _llseek (a
///   64-bit offset in two registers, the result through a pointer), pread64 (its offset in two
///   registers), waitpid, set_thread_area (the TLS descriptor, GDT entry 7), fstat64 and statx
///   (i386's struct stat64, struct statx), clock_gettime64 (64-bit timespec), readlink (no
///   symbolic links here: ENOENT, or EINVAL on a run file)
/// </code>
/// Any other number is ENOSYS, named once on the kernel log.
/// </summary>
internal static unsafe class SyscallAbi
{
    public const int Exit = 1, Fork = 2, Read = 3, Write = 4, Open = 5, Close = 6, Waitpid = 7, Lseek = 19, Getpid = 20,
        Brk = 45, Ioctl = 54, Getppid = 64, Setrlimit = 75, Getrlimit = 76, Readlink = 85, OldMmap = 90, Munmap = 91,
        Wait4 = 114, Clone = 120, Uname = 122, Mprotect = 125, Llseek = 140, Writev = 146, SchedYield = 158,
        Nanosleep = 162, Mremap = 163, RtSigaction = 174, RtSigprocmask = 175, Pread64 = 180, Vfork = 190,
        Ugetrlimit = 191, Mmap2 = 192, Fstat64 = 197, Madvise = 219, Gettid = 224, SetThreadArea = 243,
        ExitGroup = 252, SetTidAddress = 258, ClockGettime = 265, Openat = 295, Prlimit64 = 340, Getrandom = 355,
        Statx = 383, ClockGettime64 = 403;

    /// <summary>The one TLS entry of the GDT a process may set (set_thread_area).</summary>
    public const int TlsEntry = 7;

    /// <summary>The call in frame <paramref name="f"/> of process <paramref name="p"/>. Return:
    /// the result, or -errno.</summary>
    public static long Handle(Process* p, InterruptFrame* f)
    {
        ulong a0 = f->Ebx, a1 = f->Ecx, a2 = f->Edx, a3 = f->Esi, a4 = f->Edi, a5 = f->Ebp;
        switch (f->Eax)
        {
            case Exit: return Syscalls.Call(p, f, Syscalls.Exit, a0, 0, 0, 0, 0, 0);
            case ExitGroup: return Syscalls.Call(p, f, Syscalls.ExitGroup, a0, 0, 0, 0, 0, 0);
            case Fork: return Syscalls.Call(p, f, Syscalls.Fork, 0, 0, 0, 0, 0, 0);
            case Vfork: return Syscalls.Call(p, f, Syscalls.Vfork, 0, 0, 0, 0, 0, 0);
            case Clone: return Syscalls.Call(p, f, Syscalls.Clone, a0, a1, a2, a4, a3, 0); // i386: flags, newsp, ptid, tls, ctid
            case Read: return Syscalls.Call(p, f, Syscalls.Read, Fd(a0), a1, a2, 0, 0, 0);
            case Write: return Syscalls.Call(p, f, Syscalls.Write, Fd(a0), a1, a2, 0, 0, 0);
            case Writev: return Syscalls.Call(p, f, Syscalls.Writev, Fd(a0), a1, (ulong)(long)(int)a2, 0, 0, 0);
            case Pread64: return Syscalls.Call(p, f, Syscalls.Pread64, Fd(a0), a1, a2, a3 | a4 << 32, 0, 0);
            case Open: return Syscalls.Call(p, f, Syscalls.Open, a0, a1, a2, 0, 0, 0);
            case Openat: return Syscalls.Call(p, f, Syscalls.Openat, Fd(a0), a1, a2, a3, 0, 0);
            case Close: return Syscalls.Call(p, f, Syscalls.Close, Fd(a0), 0, 0, 0, 0, 0);
            case Ioctl: return Syscalls.Call(p, f, Syscalls.Ioctl, Fd(a0), a1, a2, 0, 0, 0);
            case Lseek: return Seek32(p, f, a0, (ulong)(long)(int)a1, a2);
            case Llseek: return DoLlseek(p, f, a0, a1 << 32 | a2, a3, a4);
            case Fstat64: return DoFstat64(p, (int)a0, a1);
            case Statx: return DoStatx(p, (int)a0, a1, a2, a4);
            case Readlink: return DoReadlink(p, a0);
            case Brk: return Syscalls.Call(p, f, Syscalls.Brk, a0, 0, 0, 0, 0, 0);
            case Mmap2: return Syscalls.Call(p, f, Syscalls.Mmap, a0, a1, a2, a3, Fd(a4), a5 << 12);
            case OldMmap: return OldMmapCall(p, f, a0);
            case Munmap: return Syscalls.Call(p, f, Syscalls.Munmap, a0, a1, 0, 0, 0, 0);
            case Mprotect: return Syscalls.Call(p, f, Syscalls.Mprotect, a0, a1, a2, 0, 0, 0);
            case Mremap: return Syscalls.Call(p, f, Syscalls.Mremap, a0, a1, a2, a3, a4, 0);
            case Madvise: return Syscalls.Call(p, f, Syscalls.Madvise, a0, a1, (ulong)(long)(int)a2, 0, 0, 0);
            case Waitpid: return Syscalls.Call(p, f, Syscalls.Wait4, Pid(a0), a1, a2, 0, 0, 0);
            case Wait4: return Syscalls.Call(p, f, Syscalls.Wait4, Pid(a0), a1, a2, a3, 0, 0);
            case Getpid: return Syscalls.Call(p, f, Syscalls.Getpid, 0, 0, 0, 0, 0, 0);
            case Gettid: return Syscalls.Call(p, f, Syscalls.Gettid, 0, 0, 0, 0, 0, 0);
            case Getppid: return Syscalls.Call(p, f, Syscalls.Getppid, 0, 0, 0, 0, 0, 0);
            case SchedYield: return Syscalls.Call(p, f, Syscalls.SchedYield, 0, 0, 0, 0, 0, 0);
            case Nanosleep: return Syscalls.Call(p, f, Syscalls.Nanosleep, a0, a1, 0, 0, 0, 0);
            case SetTidAddress: return Syscalls.Call(p, f, Syscalls.SetTidAddress, a0, 0, 0, 0, 0, 0);
            case SetThreadArea: return DoSetThreadArea(p, f, a0);
            case RtSigprocmask: return Syscalls.Call(p, f, Syscalls.RtSigprocmask, a0, a1, a2, a3, 0, 0);
            case RtSigaction: return Syscalls.Call(p, f, Syscalls.RtSigaction, a0, a1, a2, a3, 0, 0);
            case Uname: return Syscalls.Call(p, f, Syscalls.Uname, a0, 0, 0, 0, 0, 0);
            case Getrlimit: case Ugetrlimit: return Syscalls.Call(p, f, Syscalls.Getrlimit, a0, a1, 0, 0, 0, 0);
            case Setrlimit: return Syscalls.Call(p, f, Syscalls.Setrlimit, a0, a1, 0, 0, 0, 0);
            case Prlimit64: return Syscalls.Call(p, f, Syscalls.Prlimit64, Pid(a0), a1, a2, a3, 0, 0);
            case ClockGettime: return Syscalls.Call(p, f, Syscalls.ClockGettime, a0, a1, 0, 0, 0, 0);
            case ClockGettime64: return Syscalls.Clock(p, (int)a0, a1, 8);
            case Getrandom: return Syscalls.Call(p, f, Syscalls.Getrandom, a0, a1, a2, 0, 0, 0);
        }
        return Syscalls.NotImplemented(p, f->Eax);
    }

    // An int argument (a descriptor, a pid) as the shared calls take it: sign-extended.
    private static ulong Fd(ulong register) => (ulong)(long)(int)register;
    private static ulong Pid(ulong register) => (ulong)(long)(int)register;

    // lseek: a 32-bit off_t; a result that does not fit is EOVERFLOW (the position stays moved,
    // as on Linux, whose compat lseek checks after the seek).
    private static long Seek32(Process* p, InterruptFrame* f, ulong fd, ulong offset, ulong whence)
    {
        long r = Syscalls.Call(p, f, Syscalls.Lseek, Fd(fd), offset, whence, 0, 0, 0);
        return r > int.MaxValue ? -EOVERFLOW : r;
    }

    // _llseek(fd, offset_high, offset_low, loff_t* result, whence).
    private static long DoLlseek(Process* p, InterruptFrame* f, ulong fd, ulong offset, ulong result, ulong whence)
    {
        long r = Syscalls.Call(p, f, Syscalls.Lseek, Fd(fd), offset, whence, 0, 0, 0);
        if (r < 0) return r;
        return Syscalls.CopyOut(p, result, &r, 8);
    }

    // old_mmap(struct mmap_arg_struct*): addr, len, prot, flags, fd, offset (bytes), 4 bytes each.
    private static long OldMmapCall(Process* p, InterruptFrame* f, ulong args)
    {
        uint* a = stackalloc uint[6];
        if (Syscalls.CopyIn(p, args, a, 24) is long e and not 0) return e;
        return Syscalls.Call(p, f, Syscalls.Mmap, a[0], a[1], a[2], a[3], Fd(a[4]), a[5]);
    }

    // fstat64: struct stat64 (arch/x86/include/uapi/asm/stat.h, i386), 96 bytes.
    private static long DoFstat64(Process* p, int fd, ulong buf)
    {
        if (!Syscalls.Describe(p, fd, out ulong ino, out uint mode, out ulong rdev, out ulong size)) return -EBADF;
        byte* st = stackalloc byte[96];
        for (int i = 0; i < 96; i++) st[i] = 0;
        *(uint*)(st + 12) = (uint)ino;         // __st_ino
        *(uint*)(st + 16) = mode;
        *(uint*)(st + 20) = 1;                 // nlink
        *(ulong*)(st + 32) = rdev;
        *(ulong*)(st + 44) = size;
        *(uint*)(st + 52) = 4096;              // blksize
        *(ulong*)(st + 56) = (size + 511) / 512;
        *(ulong*)(st + 88) = ino;
        return Syscalls.CopyOut(p, buf, st, 96);
    }

    // statx(dirfd, path, flags, mask, buf): the descriptor itself (empty path and
    // AT_EMPTY_PATH), or a run file by its path; struct statx is 256 bytes.
    private static long DoStatx(Process* p, int dirfd, ulong path, ulong flags, ulong buf)
    {
        const ulong AtEmptyPath = 0x1000, AtSymlinkNofollow = 0x100, AtNoAutomount = 0x800, SyncTypes = 0x6000;
        if ((flags & ~(AtEmptyPath | AtSymlinkNofollow | AtNoAutomount | SyncTypes)) != 0 || (flags & SyncTypes) == SyncTypes) return -EINVAL;
        byte* name = stackalloc byte[256];
        Status s = UserCopy.StringFromUser(ref Processes.Memory, &p->Space, path, name, 256, ref KernelAddressSpace.Hooks, out ulong len);
        if (s != Status.Ok) return Syscalls.ErrnoOf(s);
        ulong ino, rdev, size;
        uint mode;
        if (len == 0)
        {
            if ((flags & AtEmptyPath) == 0) return -ENOENT;
            if (!Syscalls.Describe(p, dirfd, out ino, out mode, out rdev, out size)) return -EBADF;
        }
        else
        {
            int file = RunFiles.Find(name, (int)len);
            if (file < 0) return -ENOENT;
            ino = 17 + (ulong)file;
            mode = 0x8124;
            rdev = 0;
            size = RunFiles.Image(file)->Length;
        }
        byte* st = stackalloc byte[256];
        for (int i = 0; i < 256; i++) st[i] = 0;
        *(uint*)st = 0x7FF;                     // STATX_BASIC_STATS
        *(uint*)(st + 4) = 4096;               // blksize
        *(uint*)(st + 16) = 1;                 // nlink
        *(ushort*)(st + 28) = (ushort)mode;
        *(ulong*)(st + 32) = ino;
        *(ulong*)(st + 40) = size;
        *(ulong*)(st + 48) = (size + 511) / 512;
        *(uint*)(st + 128) = (uint)(rdev >> 8);   // rdev major, minor
        *(uint*)(st + 132) = (uint)(rdev & 0xFF);
        return Syscalls.CopyOut(p, buf, st, 256);
    }

    // readlink(path, ...): this kernel has no symbolic links (nor /proc).
    private static long DoReadlink(Process* p, ulong path)
    {
        byte* name = stackalloc byte[256];
        Status s = UserCopy.StringFromUser(ref Processes.Memory, &p->Space, path, name, 256, ref KernelAddressSpace.Hooks, out ulong len);
        if (s != Status.Ok) return Syscalls.ErrnoOf(s);
        if (len == 0) return -ENOENT;
        return RunFiles.Find(name, (int)len) >= 0 ? -EINVAL : -ENOENT;
    }

    /// <summary>
    /// set_thread_area(struct user_desc*): the process's TLS segment (glibc keeps its thread
    /// pointer behind GS). There is one TLS entry, <see cref="TlsEntry"/> (Linux has three; the C
    /// library uses one): entry -1 picks it when it is free and writes its number back, and is
    /// ESRCH when it is in use, as Linux answers when no entry is free; any other entry but that
    /// one is EINVAL. The descriptor is built as Linux's
    /// fill_ldt does, always a ring-3 code or data segment; it is kept in the process and loaded
    /// into the GDT on every switch (<see cref="UserMode.ThreadPointer"/>). A segment register of
    /// the caller that holds the entry's selector while the new descriptor cannot be loaded (empty,
    /// not present, execute-only code) is set to the null selector, as Linux does: the way back to
    /// ring 3 pops these registers, and a fault there would be the kernel's.
    /// </summary>
    private static long DoSetThreadArea(Process* p, InterruptFrame* f, ulong info)
    {
        uint* u = stackalloc uint[4]; // entry_number, base_addr, limit, flag bits
        if (Syscalls.CopyIn(p, info, u, 16) is long e and not 0) return e;
        int entry = (int)u[0];
        if (entry == -1)
        {
            if (p->ThreadPointer != 0) return -ESRCH;
            u[0] = TlsEntry;
            if (Syscalls.CopyOut(p, info, u, 4) is long g and not 0) return g;
        }
        else if (entry != TlsEntry) return -EINVAL;
        uint baseAddress = u[1], limit = u[2], bits = u[3];
        uint seg32 = bits & 1, contents = (bits >> 1) & 3, readExecOnly = (bits >> 3) & 1, limitInPages = (bits >> 4) & 1,
             notPresent = (bits >> 5) & 1, useable = (bits >> 6) & 1;
        ulong descriptor = 0;
        bool empty = baseAddress == 0 && limit == 0 && contents == 0 && readExecOnly == 1 && seg32 == 0
                     && limitInPages == 0 && notPresent == 1 && useable == 0;
        if (!empty)
        {
            if (contents == 3) return -EINVAL; // a conforming code segment
            uint low = (baseAddress & 0xFFFF) << 16 | (limit & 0xFFFF);
            uint high = (baseAddress & 0xFF000000) | ((baseAddress >> 16) & 0xFF) | (limit & 0xF0000)
                      | ((readExecOnly ^ 1) << 9) | (contents << 10) | ((notPresent ^ 1) << 15)
                      | (seg32 << 22) | (limitInPages << 23) | (useable << 20) | 0x7000; // S, DPL 3
            descriptor = (ulong)high << 32 | low;
        }
        bool loadable = !empty && notPresent == 0 && !(contents == 2 && readExecOnly == 1);
        if (!loadable)
        {
            const uint Tls = TlsEntry << 3, IndexMask = ~3u;
            if ((f->Ds & IndexMask) == Tls) f->Ds = 0;
            if ((f->Es & IndexMask) == Tls) f->Es = 0;
            if ((f->Fs & IndexMask) == Tls) f->Fs = 0;
            if ((f->Gs & IndexMask) == Tls) f->Gs = 0;
        }
        p->ThreadPointer = descriptor;
        UserMode.ThreadPointer = descriptor;
        return 0;
    }
}
