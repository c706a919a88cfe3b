using System;
using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Paging.X86;

namespace SharpMM.Kernel;

/// <summary>
/// System calls' copies to and from a process's memory, page by page through the direct map:
/// the page is looked up in the process's tables and, when its entry does not allow the access,
/// brought in by the library's fault handler as a user access would (demand zero, page-in,
/// copy-on-write, stack growth). The kernel never dereferences a user address, so a bad
/// pointer is a false return (EFAULT), never a kernel fault, and SMAP can stay on.
/// Every address must lie in user space: a kernel or non-canonical address is refused.
/// A copy that fails part way has copied the pages before the failing one.
/// </summary>
internal static unsafe class UserAccess
{
    /// <summary>Copies <paramref name="bytes"/> from user <paramref name="src"/> to kernel
    /// <paramref name="dst"/>. Return: false when some byte is not readable.</summary>
    public static bool Read(Process* p, ulong src, byte* dst, ulong bytes)
    {
        if (!InUser(p, src, bytes)) return false;
        while (bytes != 0)
        {
            byte* q = Page(p, src, false);
            if (q == null) return false;
            ulong n = Chunk(src, bytes);
            Buffer.MemoryCopy(q, dst, (long)n, (long)n);
            src += n; dst += n; bytes -= n;
        }
        return true;
    }

    /// <summary>Copies <paramref name="bytes"/> from kernel <paramref name="src"/> to user
    /// <paramref name="dst"/>. Return: false when some byte is not writable.</summary>
    public static bool Write(Process* p, ulong dst, byte* src, ulong bytes)
    {
        if (!InUser(p, dst, bytes)) return false;
        while (bytes != 0)
        {
            byte* q = Page(p, dst, true);
            if (q == null) return false;
            ulong n = Chunk(dst, bytes);
            Buffer.MemoryCopy(src, q, (long)n, (long)n);
            src += n; dst += n; bytes -= n;
        }
        return true;
    }

    /// <summary>Reads one user word.</summary>
    public static bool ReadU64(Process* p, ulong src, out ulong value)
    {
        ulong v = 0;
        bool ok = Read(p, src, (byte*)&v, 8);
        value = v;
        return ok;
    }

    /// <summary>Writes one user word.</summary>
    public static bool WriteU64(Process* p, ulong dst, ulong value) => Write(p, dst, (byte*)&value, 8);

    /// <summary>Reads a NUL-terminated user string of at most <paramref name="capacity"/> - 1
    /// bytes into <paramref name="dst"/> (terminated). Return: its length; -EFAULT;
    /// -ENAMETOOLONG.</summary>
    public static long ReadString(Process* p, ulong src, byte* dst, int capacity)
    {
        for (int i = 0; i < capacity; i++)
        {
            if (!InUser(p, src + (ulong)i, 1)) return -Errno.EFAULT;
            byte* q = Page(p, src + (ulong)i, false);
            if (q == null) return -Errno.EFAULT;
            dst[i] = *q;
            if (*q == 0) return i;
        }
        return -Errno.ENAMETOOLONG;
    }

    private static bool InUser(Process* p, ulong va, ulong bytes)
    {
        ulong end = va + bytes;
        return end >= va && va >= p->Space.Layout.UserStart && end <= p->Space.Layout.UserEnd;
    }

    private static ulong Chunk(ulong va, ulong bytes)
    {
        ulong left = PageSize.Bytes - (va & PageSize.OffsetMask);
        return bytes < left ? bytes : left;
    }

    // The direct-map address of user byte va, the page made to allow the access first; null
    // when the fault handler refuses it.
    private static byte* Page(Process* p, ulong va, bool write)
    {
        ulong page = va & ~PageSize.OffsetMask;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            LeafTable<X86LongModeFormat> t = p->Space.FindLeafTable(page);
            int idx = LeafTable<X86LongModeFormat>.IndexOf(page);
            ulong e = t.IsNull ? 0 : t.Read(idx);
            if (X86LongModeFormat.IsPresent(e))
            {
                PageFlags f = X86LongModeFormat.Flags(0, e);
                if ((f & PageFlags.User) != 0 && (!write || (f & PageFlags.Writable) != 0))
                {
                    if (write && (f & PageFlags.Dirty) == 0)
                    {
                        // What the CPU would do: the clock must not take the page for a clean one.
                        t.Write(idx, X86LongModeFormat.MakeLeaf(0, X86LongModeFormat.Address(0, e), f | PageFlags.Accessed | PageFlags.Dirty));
                        if (Processes.Current == p) Arch.Invlpg(page);
                    }
                    return Platform.DirectMap.ToVirt(X86LongModeFormat.Address(0, e)) + (va & PageSize.OffsetMask);
                }
            }
            if (attempt > 0) break;
            var error = PageFaultErrorCode.User | (write ? PageFaultErrorCode.Write : PageFaultErrorCode.None)
                | (X86LongModeFormat.IsPresent(e) ? PageFaultErrorCode.ProtectionViolation : PageFaultErrorCode.None);
            if (!Processes.Memory.HandleFault(&p->Space, new PageFault(va, error), ref KernelAddressSpace.Hooks).IsResolved) return null;
            Processes.SamplePeak();
        }
        return null;
    }
}
