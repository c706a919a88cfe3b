using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Paging;

namespace SharpMM.User.Exec;

/// <summary>
/// Copies between kernel memory and a user address space without taking a fault: each user
/// page is resolved in software (<see cref="UserMemory{TFormat, TFrames, TStore}.CopyUserPage"/>,
/// the fault handler's path: demand zero, page-in, stack growth, copy-on-write break) and
/// copied through the direct map, or a HighMem page through a temporary mapping, one page at a time. The space need not be the active one.
///
/// Every call returns a status; what the caller makes of it (the system call's errno):
/// <code>
///   OutOfRange    kernel or non-canonical address, address + length wraps   EFAULT
///   NotMapped     no region there                                          EFAULT
///   AccessDenied  the region forbids the access (read, or write)           EFAULT
///   OutOfMemory   no frame for the page, even after reclaim                ENOMEM
///   IoError       the store failed to read a paged-out page back           EFAULT (EIO)
///   Overflow      a string or array longer than the caller's limit          E2BIG / ENAMETOOLONG
/// </code>
/// A copy that fails part way has copied the pages before the failing one (as Linux's
/// copy_to_user leaves a partial copy); nothing else changes.
/// </summary>
public static unsafe class UserCopy
{
    /// <summary>Copies <paramref name="bytes"/> from user address <paramref name="src"/> in
    /// <paramref name="space"/> to <paramref name="dst"/> (kernel memory). The user range must
    /// be readable. Return: Ok, or a status of the table above.</summary>
    public static Status FromUser<TFormat, TFrames, TStore, TArch>(ref UserMemory<TFormat, TFrames, TStore> mem, AddressSpace<TFormat>* space,
        ulong src, byte* dst, ulong bytes, ref TArch arch)
        where TFormat : struct, IPagingFormat where TFrames : struct, Physical.IFrameTableAllocator where TStore : struct, IBackingStore where TArch : struct, IArchHooks
    {
        if (bytes != 0 && !InUserSpace(space, src, bytes)) return Status.OutOfRange;
        while (bytes != 0)
        {
            ulong n = Chunk(src, bytes);
            Status s = mem.CopyUserPage(space, src, false, dst, n, ref arch);
            if (s != Status.Ok) return s;
            src += n; dst += n; bytes -= n;
        }
        return Status.Ok;
    }

    /// <summary>Copies <paramref name="bytes"/> from <paramref name="src"/> (kernel memory) to
    /// user address <paramref name="dst"/> in <paramref name="space"/>. The user range must be
    /// writable; shared copy-on-write pages are copied first, as a user write would.
    /// Return: Ok, or a status of the table above.</summary>
    public static Status ToUser<TFormat, TFrames, TStore, TArch>(ref UserMemory<TFormat, TFrames, TStore> mem, AddressSpace<TFormat>* space,
        ulong dst, byte* src, ulong bytes, ref TArch arch)
        where TFormat : struct, IPagingFormat where TFrames : struct, Physical.IFrameTableAllocator where TStore : struct, IBackingStore where TArch : struct, IArchHooks
    {
        if (bytes != 0 && !InUserSpace(space, dst, bytes)) return Status.OutOfRange;
        while (bytes != 0)
        {
            ulong n = Chunk(dst, bytes);
            Status s = mem.CopyUserPage(space, dst, true, src, n, ref arch);
            if (s != Status.Ok) return s;
            src += n; dst += n; bytes -= n;
        }
        return Status.Ok;
    }

    /// <summary>
    /// Copies the NUL-terminated string at user address <paramref name="src"/> into
    /// <paramref name="dst"/> (<paramref name="capacity"/> bytes), its NUL included;
    /// <paramref name="length"/> is its length without the NUL. Reads stop at the NUL: the
    /// pages after it are never touched. Return: Ok; Overflow (no NUL within
    /// <paramref name="capacity"/> bytes: <paramref name="dst"/> holds the first ones, unterminated);
    /// or a status of the table above.
    /// </summary>
    public static Status StringFromUser<TFormat, TFrames, TStore, TArch>(ref UserMemory<TFormat, TFrames, TStore> mem, AddressSpace<TFormat>* space,
        ulong src, byte* dst, ulong capacity, ref TArch arch, out ulong length)
        where TFormat : struct, IPagingFormat where TFrames : struct, Physical.IFrameTableAllocator where TStore : struct, IBackingStore where TArch : struct, IArchHooks
    {
        length = 0;
        ulong done = 0;
        while (done < capacity)
        {
            ulong va = src + done;
            if (va < src) return Status.OutOfRange;
            ulong n = Chunk(va, capacity - done);
            Status s = mem.CopyUserPage(space, va, false, dst + done, n, ref arch);
            if (s != Status.Ok) return s;
            for (ulong i = 0; i < n; i++)
                if (dst[done + i] == 0) { length = done + i; return Status.Ok; }
            done += n;
        }
        return Status.Overflow;
    }

    /// <summary>
    /// Reads the NULL-terminated array of user pointers at <paramref name="src"/> (argv, envp),
    /// each <paramref name="pointerBytes"/> wide (8 for x86-64, 4 for i386), into
    /// <paramref name="dst"/> (room for <paramref name="capacity"/> pointers, the NULL not
    /// stored); <paramref name="count"/> is the number before the NULL. Return: Ok; Overflow
    /// (more than <paramref name="capacity"/> pointers); InvalidArgument (a pointer width other
    /// than 4 or 8); or a status of the table above.
    /// </summary>
    public static Status PointerArrayFromUser<TFormat, TFrames, TStore, TArch>(ref UserMemory<TFormat, TFrames, TStore> mem, AddressSpace<TFormat>* space,
        ulong src, ulong pointerBytes, ulong* dst, ulong capacity, ref TArch arch, out ulong count)
        where TFormat : struct, IPagingFormat where TFrames : struct, Physical.IFrameTableAllocator where TStore : struct, IBackingStore where TArch : struct, IArchHooks
    {
        count = 0;
        if (pointerBytes != 4 && pointerBytes != 8) return Status.InvalidArgument;
        for (ulong i = 0; ; i++)
        {
            if (i > (ulong.MaxValue - src) / pointerBytes) return Status.OutOfRange;
            ulong va = src + i * pointerBytes;
            ulong word = 0;
            // A pointer never straddles pages when the array is aligned; FromUser handles one that does.
            Status s = FromUser(ref mem, space, va, (byte*)&word, pointerBytes, ref arch);
            if (s != Status.Ok) return s;
            if (word == 0) { count = i; return Status.Ok; }
            if (i >= capacity) return Status.Overflow;
            dst[i] = word;
        }
    }

    // The whole range is user space (checked up front, as access_ok does: a copy that would run
    // into the kernel half does not start).
    private static bool InUserSpace<TFormat>(AddressSpace<TFormat>* space, ulong va, ulong bytes) where TFormat : struct, IPagingFormat =>
        va + bytes >= va && va >= space->Layout.UserStart && va + bytes <= space->Layout.UserEnd;

    // Bytes from `va` to the end of its page, at most `bytes`.
    private static ulong Chunk(ulong va, ulong bytes)
    {
        ulong left = PageSize.Bytes - (va & PageSize.OffsetMask);
        return left < bytes ? left : bytes;
    }
}
