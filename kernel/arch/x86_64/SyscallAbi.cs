using static SharpMM.User.Linux.LinuxErrno;

namespace SharpMM.Kernel;

/// <summary>
/// The x86-64 system call ABI: the number in rax, the arguments in rdi, rsi, rdx, r10, r8, r9
/// (syscall_entry's frame). Every call but arch_prctl is the shared <see cref="Syscalls.Call"/>,
/// whose numbers are x86-64's.
/// </summary>
internal static unsafe class SyscallAbi
{
    /// <summary>The call in frame <paramref name="f"/> of process <paramref name="p"/>. Return:
    /// the result, or -errno.</summary>
    public static long Handle(Process* p, InterruptFrame* f)
    {
        if (f->Rax == Syscalls.ArchPrctl) return ArchPrctl(p, f->Rdi, f->Rsi);
        return Syscalls.Call(p, f, f->Rax, f->Rdi, f->Rsi, f->Rdx, f->R10, f->R8, f->R9);
    }

    private static long ArchPrctl(Process* p, ulong code, ulong addr)
    {
        const ulong SetFs = 0x1002, GetFs = 0x1003;
        if (code == SetFs)
        {
            if (!UserMode.IsLowerCanonical(addr)) return -EPERM;
            p->ThreadPointer = addr;
            UserMode.ThreadPointer = addr;
            return 0;
        }
        if (code == GetFs)
        {
            ulong fs = p->ThreadPointer;
            return Syscalls.CopyOut(p, addr, &fs, 8);
        }
        return -EINVAL;
    }
}
