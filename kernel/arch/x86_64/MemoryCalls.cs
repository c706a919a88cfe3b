using SharpMM.Addressing;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// brk, mmap, munmap, mprotect, mremap and madvise for a process, on the library's user memory
/// manager (<see cref="Processes.Memory"/>), with Linux's argument checks and errno values.
/// Anonymous private mappings only: a file mapping returns ENODEV, mremap ENOSYS.
/// </summary>
internal static unsafe class MemoryCalls
{
    private const ulong MapShared = 0x01, MapPrivate = 0x02, MapFixed = 0x10, MapAnonymous = 0x20, MapFixedNoReplace = 0x100000;

    public static long Handle(Process* p, ulong nr, ulong a0, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        AddressSpace<SharpMM.Paging.X86.X86LongModeFormat>* space = &p->Space;
        ref var memory = ref Processes.Memory;
        switch (nr)
        {
            case Syscalls.Brk:
            {
                if (memory.SetBrk(space, a0, ref KernelAddressSpace.Hooks, out ulong brk) == Status.Ok) return (long)brk;
                return (long)space->Brk; // Linux: the break unchanged
            }
            case Syscalls.Mmap:
            {
                ulong addr = a0, len = a1, prot = a2, flags = a3, offset = a5;
                if (len == 0 || (offset & PageSize.OffsetMask) != 0) return -Errno.EINVAL;
                if ((prot & ~7UL) != 0) return -Errno.EINVAL;
                ulong type = flags & 3;
                if (type != MapShared && type != MapPrivate) return -Errno.EINVAL;
                if (!PageSize.TryAlignUp(len, out ulong bytes)) return -Errno.ENOMEM;
                if ((flags & MapAnonymous) == 0) return -Errno.ENODEV;
                if (type == MapShared) return -Errno.EINVAL;
                var protection = (VmaProtection)(uint)prot;
                bool fixedAt = (flags & (MapFixed | MapFixedNoReplace)) != 0;
                if (fixedAt)
                {
                    if ((addr & PageSize.OffsetMask) != 0) return -Errno.EINVAL;
                    if (addr + bytes < addr || !space->Layout.IsUserRange(addr, addr + bytes)) return -Errno.ENOMEM;
                    if ((flags & MapFixed) != 0 && (flags & MapFixedNoReplace) == 0)
                    {
                        Status u = memory.Unmap(space, addr, bytes, ref KernelAddressSpace.Hooks);
                        if (u != Status.Ok) return -Errno.ENOMEM;
                    }
                    Status s = memory.MapAnonymous(space, addr, bytes, protection, out ulong at);
                    if (s == Status.Ok) return (long)at;
                    return s == Status.Overlap ? -Errno.EEXIST : -Errno.ENOMEM;
                }
                ulong hint = addr & ~PageSize.OffsetMask;
                if (hint != 0 && hint + bytes > hint && space->Layout.IsUserRange(hint, hint + bytes)
                    && memory.MapAnonymous(space, hint, bytes, protection, out ulong hinted) == Status.Ok)
                    return (long)hinted;
                Status t = memory.MapAnonymous(space, 0, bytes, protection, out ulong start);
                return t == Status.Ok ? (long)start : -Errno.ENOMEM;
            }
            case Syscalls.Munmap:
            {
                if ((a0 & PageSize.OffsetMask) != 0 || a1 == 0) return -Errno.EINVAL;
                if (!PageSize.TryAlignUp(a1, out ulong bytes) || a0 + bytes < a0) return -Errno.EINVAL;
                if (!space->Layout.IsUserRange(a0, a0 + bytes)) return -Errno.EINVAL;
                Status s = memory.Unmap(space, a0, bytes, ref KernelAddressSpace.Hooks);
                return s == Status.Ok ? 0 : -Errno.ENOMEM;
            }
            case Syscalls.Mprotect:
            {
                if ((a0 & PageSize.OffsetMask) != 0 || (a2 & ~7UL) != 0) return -Errno.EINVAL;
                if (a1 == 0) return 0;
                if (!PageSize.TryAlignUp(a1, out ulong bytes) || a0 + bytes < a0) return -Errno.ENOMEM;
                if (!space->Layout.IsUserRange(a0, a0 + bytes)) return -Errno.ENOMEM;
                Status s = memory.Protect(space, a0, bytes, (VmaProtection)(uint)a2, ref KernelAddressSpace.Hooks);
                return s == Status.Ok ? 0 : s == Status.InvalidArgument ? -Errno.EINVAL : -Errno.ENOMEM;
            }
            case Syscalls.Madvise:
                return (a0 & PageSize.OffsetMask) != 0 ? -Errno.EINVAL : 0;
        }
        return -Errno.ENOSYS;
    }
}
