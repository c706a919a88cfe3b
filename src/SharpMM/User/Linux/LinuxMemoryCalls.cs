using SharpMM.Addressing;
using SharpMM.Paging;
using static SharpMM.User.Linux.LinuxErrno;
using static SharpMM.User.Linux.LinuxMap;

namespace SharpMM.User.Linux;

/// <summary>
/// Linux's memory system calls (brk, mmap, munmap, mprotect, mremap, madvise) on an
/// <see cref="AddressSpace{TFormat}"/> through its <see cref="UserMemory{TFormat, TFrames, TStore}"/>,
/// each returning what the system call returns: the value, or -errno. Arguments are checked
/// in Linux's order with Linux's error numbers (mm/mmap.c, mm/mremap.c, mm/mprotect.c,
/// mm/madvise.c as of 6.x), so a kernel's dispatcher only passes registers through.
///
/// A call that fails leaves the space as it was: the region changes are tried on a copy of the
/// region set first (a full set is ENOMEM, as Linux's map count limit), and the page-table
/// work that can run out of frames (mremap's destination tables) is done before anything
/// moves. The exceptions are Linux's own: madvise applies the advice to the mapped parts of a
/// range with holes and then returns ENOMEM.
///
/// Placement: a hint is used when the range there is free; otherwise (and for no hint) the
/// highest free range below the stack's reach and above the layout's mmap base (top-down, as
/// Linux's default layout: new mappings just below the stack, then downwards). Free means no
/// region, and for a stack region its whole reach (its limit) and the guard gap below it.
/// MAP_32BIT on a 64-bit layout: the lowest free range in [1 GiB, 2 GiB) (bottom-up, as Linux),
/// a hint only when its range ends below 2 GiB.
///
/// Rights: PROT_WRITE and PROT_EXEC imply PROT_READ (x86 cannot express write-only or
/// execute-only pages, and Linux on x86 grants the read); no W^X policy is imposed (Linux
/// imposes none: PROT_WRITE | PROT_EXEC is allowed).
/// </summary>
public static unsafe class LinuxMemoryCalls<TFormat, TFrames, TStore>
    where TFormat : struct, IPagingFormat
    where TFrames : struct, Physical.IFrameTableAllocator
    where TStore : struct, IBackingStore
{
    // x86-64's MAP_32BIT window (arch/x86/kernel/sys_x86_64.c).
    private const ulong Map32Floor = 0x40000000, Map32Ceiling = 0x80000000;

    // ---- brk ----

    /// <summary>
    /// brk(addr): moves the break to <paramref name="addr"/> and returns the new break; on any
    /// failure, and for an address below the start of the heap (0 included: the query), returns
    /// the current break unchanged. Shrinking releases the pages past the new break; growing
    /// must leave a page free below the next region (and the guard gap below a stack), stay
    /// within <see cref="LinuxLimits.DataBytes"/> of heap and <see cref="LinuxLimits.AddressSpaceBytes"/>
    /// of regions, and below the layout's mmap base.
    /// </summary>
    public static long Brk<TArch>(ref UserMemory<TFormat, TFrames, TStore> memory, AddressSpace<TFormat>* space, ulong addr, in LinuxLimits limits, ref TArch arch) where TArch : struct, IArchHooks
    {
        ulong current = space->Brk;
        if (space->BrkStart == 0 || addr < space->BrkStart) return (long)current;
        if (addr - space->BrkStart > limits.DataBytes) return (long)current;
        if (!PageSize.TryAlignUp(addr, out ulong newEnd) || !PageSize.TryAlignUp(current, out ulong oldEnd)) return (long)current;
        if (newEnd > oldEnd)
        {
            ulong grow = newEnd - oldEnd;
            if (newEnd > space->Layout.MmapBase || newEnd + PageSize.Bytes < newEnd) return (long)current;
            if (!IsFree(space, oldEnd, newEnd + PageSize.Bytes)) return (long)current;
            if (!FitsLimit(space, grow, 0, limits)) return (long)current;
        }
        if (memory.SetBrk(space, addr, ref arch, out ulong brk) != Status.Ok) return (long)current;
        return (long)brk;
    }

    // ---- mmap ----

    /// <summary>
    /// mmap(addr, length, prot, flags, fd, offset) with the file already looked up:
    /// <paramref name="file"/> is the image fd names (null when fd names no file; ignored with
    /// MAP_ANONYMOUS). Returns the address, or:
    /// <code>
    ///   EINVAL     offset not page-aligned; length 0; MAP_FIXED with addr not page-aligned;
    ///              a type neither MAP_SHARED, MAP_SHARED_VALIDATE nor MAP_PRIVATE (anonymous:
    ///              MAP_SHARED or MAP_PRIVATE only); MAP_SHARED with MAP_GROWSDOWN; MAP_HUGETLB
    ///   EBADF      not anonymous and no file
    ///   ENOMEM     length rounds past 2^64 or exceeds user space; MAP_FIXED past user space;
    ///              no free range; RLIMIT_AS; the region table full
    ///   EOVERFLOW  offset + length past 2^64 (a file mapping)
    ///   EPERM      MAP_FIXED below the first user address (mmap_min_addr)
    ///   EEXIST     MAP_FIXED_NOREPLACE over a mapping
    ///   EOPNOTSUPP MAP_SHARED_VALIDATE on a file with flags Linux does not know
    ///   EACCES     MAP_SHARED | PROT_WRITE on a file (images are read-only)
    ///   ENODEV     MAP_SHARED on a file otherwise (shared file mappings are not provided)
    /// </code>
    /// MAP_FIXED replaces what is there in one step: when the new region cannot be made, the
    /// old mappings are untouched. MAP_POPULATE (without MAP_NONBLOCK) and MAP_LOCKED populate
    /// the pages at once, best effort (a page that cannot be had is left to its first touch,
    /// as Linux does); unknown flags are ignored (MAP_SHARED_VALIDATE aside).
    /// </summary>
    public static long Mmap<TArch>(ref UserMemory<TFormat, TFrames, TStore> memory, AddressSpace<TFormat>* space, ulong addr, ulong length, ulong prot, ulong flags, FileImage* file, ulong offset, in LinuxLimits limits, ref TArch arch)
        where TArch : struct, IArchHooks
    {
        if (!PageSize.IsAligned(offset)) return -EINVAL;
        bool anonymous = (flags & MAP_ANONYMOUS) != 0;
        if (!anonymous && file == null) return -EBADF;
        if ((flags & MAP_HUGETLB) != 0) return -EINVAL;
        if (length == 0) return -EINVAL;
        if (!PageSize.TryAlignUp(length, out ulong len)) return -ENOMEM;
        if (!anonymous && offset + len < offset) return -EOVERFLOW;
        if ((flags & MAP_FIXED_NOREPLACE) != 0) flags |= MAP_FIXED;
        bool fix = (flags & MAP_FIXED) != 0;
        UserLayout l = space->Layout;
        if (len > l.UserEnd) return -ENOMEM;
        ulong va;
        if (fix)
        {
            if (addr > l.UserEnd - len) return -ENOMEM;
            if (!PageSize.IsAligned(addr)) return -EINVAL;
            if (addr < l.UserStart) return -EPERM;
            va = addr;
            if ((flags & MAP_FIXED_NOREPLACE) != 0 && space->Regions.Overlaps(va, va + len)) return -EEXIST;
        }
        else if (!FindArea(space, addr, len, flags, out va)) return -ENOMEM;

        VmaKind kind;
        ulong type = flags & MAP_TYPE;
        if (anonymous)
        {
            if (type == MAP_SHARED)
            {
                if ((flags & MAP_GROWSDOWN) != 0) return -EINVAL;
                kind = VmaKind.Shared;
            }
            else if (type == MAP_PRIVATE) kind = VmaKind.Anonymous;
            else return -EINVAL;
        }
        else
        {
            if (type == MAP_SHARED || type == MAP_SHARED_VALIDATE)
            {
                if (type == MAP_SHARED_VALIDATE && (flags & ~LegacyMask) != 0) return -EOPNOTSUPP;
                return (prot & LinuxProt.PROT_WRITE) != 0 ? -EACCES : -ENODEV;
            }
            if (type != MAP_PRIVATE) return -EINVAL;
            kind = VmaKind.File;
        }

        if (!FitsLimit(space, len, fix ? OverlapBytes(space, va, va + len) : 0, limits)) return -ENOMEM;
        VmaProtection protection = ToProtection(prot);
        var vma = new Vma
        {
            Start = va, End = va + len, Limit = va, Protection = protection, Kind = kind,
            Offset = kind == VmaKind.File ? offset : 0, File = kind == VmaKind.File ? (ulong)file : 0,
        };
        // The region set as it will be, tried first when it could be full: the real changes
        // below cannot fail then. Removing a range splits at most one region (+1) and the new
        // region adds one, so with two entries free there is nothing to try (and no copy of
        // the whole set to make).
        if (space->Regions.Count + 2 > VmaSet.Capacity)
        {
            VmaSet after = space->Regions;
            if (fix && after.Remove(va, va + len) != Status.Ok) return -ENOMEM;
            if (after.Insert(vma) != Status.Ok) return -ENOMEM;
        }

        if (fix) Require(memory.Unmap(space, va, len, ref arch), "mmap: unmap under MAP_FIXED");
        Status s = kind switch
        {
            VmaKind.Shared => memory.MapShared(space, va, len, protection, out _),
            VmaKind.File => memory.MapFile(space, va, len, file, offset, protection, out _),
            _ => memory.MapAnonymous(space, va, len, protection, out _),
        };
        Require(s, "mmap: a region the trial accepted");
        if (((flags & MAP_POPULATE) != 0 && (flags & MAP_NONBLOCK) == 0) || (flags & MAP_LOCKED) != 0)
            Populate(ref memory, space, va, va + len, ref arch);
        return (long)va;
    }

    // Best effort, page by page, as first touches would (stops at the first that fails): writes
    // in a writable private region (as Linux's populate, so the region's pages get their owner),
    // reads otherwise.
    private static void Populate<TArch>(ref UserMemory<TFormat, TFrames, TStore> memory, AddressSpace<TFormat>* space, ulong start, ulong end, ref TArch arch) where TArch : struct, IArchHooks
    {
        int i = space->Regions.Find(start);
        bool write = i >= 0 && space->Regions[i].IsPrivate && (space->Regions[i].Protection & VmaProtection.Write) != 0;
        PageFaultErrorCode code = write ? PageFaultErrorCode.User | PageFaultErrorCode.Write : PageFaultErrorCode.User;
        for (ulong p = start; p < end; p += PageSize.Bytes)
        {
            if (TFormat.IsPresent(space->Entry(p))) continue;
            FaultResult r = memory.HandleFault(space, new PageFault(p, code), ref arch);
            if (!r.IsResolved) return;
        }
    }

    // ---- munmap ----

    /// <summary>
    /// munmap(addr, length): removes every mapping in the range (holes skipped; regions cut at
    /// both ends). Returns 0, or EINVAL (addr not page-aligned, the range past user space,
    /// length 0), ENOMEM (a region split with the region table full: nothing changed).
    /// </summary>
    public static long Munmap<TArch>(ref UserMemory<TFormat, TFrames, TStore> memory, AddressSpace<TFormat>* space, ulong addr, ulong length, ref TArch arch) where TArch : struct, IArchHooks
    {
        UserLayout l = space->Layout;
        if (!PageSize.IsAligned(addr) || addr > l.UserEnd || length > l.UserEnd - addr) return -EINVAL;
        if (!PageSize.TryAlignUp(length, out ulong len) || len == 0) return -EINVAL;
        Status s = memory.Unmap(space, addr, len, ref arch);
        if (s == Status.Ok) return 0;
        return s == Status.NoSpace ? -ENOMEM : -EINVAL;
    }

    // ---- mprotect ----

    /// <summary>
    /// mprotect(addr, length, prot): new rights for every page in the range, regions split and
    /// merged. Returns 0 (also for length 0), or EINVAL (addr not page-aligned; bits other than
    /// PROT_READ/WRITE/EXEC/SEM; PROT_GROWSDOWN and PROT_GROWSUP together, PROT_GROWSUP, or
    /// PROT_GROWSDOWN where the first region in the range is not a stack), ENOMEM (the range
    /// wraps, has a hole or leaves user space; the region table is full: nothing changed).
    /// PROT_GROWSDOWN extends the range down to the start of the stack region. PROT_WRITE on a
    /// private file mapping is allowed (its pages are private copies).
    /// </summary>
    public static long Mprotect<TArch>(ref UserMemory<TFormat, TFrames, TStore> memory, AddressSpace<TFormat>* space, ulong addr, ulong length, ulong prot, ref TArch arch) where TArch : struct, IArchHooks
    {
        ulong grows = prot & (LinuxProt.PROT_GROWSDOWN | LinuxProt.PROT_GROWSUP);
        prot &= ~(LinuxProt.PROT_GROWSDOWN | LinuxProt.PROT_GROWSUP);
        if (grows == (LinuxProt.PROT_GROWSDOWN | LinuxProt.PROT_GROWSUP)) return -EINVAL;
        if (!PageSize.IsAligned(addr)) return -EINVAL;
        if (length == 0) return 0;
        if (!PageSize.TryAlignUp(length, out ulong len) || addr + len <= addr) return -ENOMEM;
        if ((prot & ~(LinuxProt.PROT_READ | LinuxProt.PROT_WRITE | LinuxProt.PROT_EXEC | LinuxProt.PROT_SEM)) != 0) return -EINVAL;
        ulong end = addr + len;
        if (grows != 0)
        {
            // As Linux: the first region in the range decides (it need not hold addr): none is
            // ENOMEM; PROT_GROWSUP needs it to start at or below addr (else ENOMEM) and is then
            // EINVAL (x86 has no regions that grow up); PROT_GROWSDOWN needs it to be a stack.
            int i = space->Regions.FirstEndingAfter(addr);
            if (i >= space->Regions.Count || space->Regions[i].Start >= end) return -ENOMEM;
            if (grows == LinuxProt.PROT_GROWSUP) return space->Regions[i].Start > addr ? -ENOMEM : -EINVAL;
            if (space->Regions[i].Kind != VmaKind.Stack) return -EINVAL;
            addr = space->Regions[i].Start;
        }
        if (end > space->Layout.UserEnd) return -ENOMEM;
        Status s = memory.Protect(space, addr, end - addr, ToProtection(prot), ref arch);
        if (s == Status.Ok) return 0;
        return s is Status.NotMapped or Status.NoSpace ? -ENOMEM : -EINVAL;
    }

    // ---- mremap ----

    /// <summary>
    /// mremap(old_address, old_size, new_size, flags, new_address). Returns the (new) address,
    /// or:
    /// <code>
    ///   EINVAL  unknown flags; MREMAP_FIXED without MREMAP_MAYMOVE; MREMAP_DONTUNMAP without
    ///           MAYMOVE or with sizes that differ, or on a device region;
    ///           old_address not page-aligned; new_size 0 (after rounding); old_size 0 on a private
    ///           region; MREMAP_FIXED or MREMAP_DONTUNMAP with
    ///           new_address not page-aligned, past user space or overlapping the old range
    ///           (checked before the old range is looked up); new_size larger than user space
    ///   EFAULT  old_address in no region, or the old range not inside one region; growing a
    ///           device region; old_size 0 with MREMAP_FIXED whose target covers old_address
    ///           (Linux unmaps the target, then finds no region there; here nothing changes)
    ///   EPERM   MREMAP_FIXED below the first user address
    ///   ENOMEM  cannot grow in place and may not move (old_size 0 on a shared region too);
    ///           no free range to move to; RLIMIT_AS;
    ///           the region table full; no frame for the destination's page tables
    /// </code>
    /// Shrinking releases the tail in place. Growing extends the region in place when the range
    /// after it is free (anonymous, shared and file regions; a stack region moves), otherwise
    /// with MREMAP_MAYMOVE moves it: page-table entries move (frames, swap entries, their
    /// Accessed and Dirty bits and all counts carried over, nothing copied); a stack region
    /// moved becomes a plain anonymous one (it no longer grows down). MREMAP_FIXED replaces
    /// what is at new_address (a shrink with it cuts the old range's tail first, as Linux does,
    /// so only the part that moves must lie in one region); MREMAP_DONTUNMAP keeps the old range
    /// mapped: empty for a private region (its next touch zero-fills, or reads the file again),
    /// showing the same pages as the new range for a shared one (Linux since 5.13). old_size 0
    /// with MREMAP_MAYMOVE on a shared region maps new_size bytes of the same pages from
    /// old_address on a second time (pages past the old region's end start empty). The moved
    /// region keeps its pages' owner and offset, so it merges with a neighbour only where
    /// Linux's would (<see cref="Vma.CanMergeWith"/>). A failed call changes nothing (but that tail cut).
    /// </summary>
    public static long Mremap<TArch>(ref UserMemory<TFormat, TFrames, TStore> memory, AddressSpace<TFormat>* space, ulong oldAddr, ulong oldSize, ulong newSize, ulong flags, ulong newAddr, in LinuxLimits limits, ref TArch arch)
        where TArch : struct, IArchHooks
    {
        const ulong known = LinuxMremap.MREMAP_MAYMOVE | LinuxMremap.MREMAP_FIXED | LinuxMremap.MREMAP_DONTUNMAP;
        bool mayMove = (flags & LinuxMremap.MREMAP_MAYMOVE) != 0, fix = (flags & LinuxMremap.MREMAP_FIXED) != 0;
        bool dontUnmap = (flags & LinuxMremap.MREMAP_DONTUNMAP) != 0;
        if ((flags & ~known) != 0 || fix && !mayMove) return -EINVAL;
        if (dontUnmap && (!mayMove || oldSize != newSize)) return -EINVAL;
        if (!PageSize.IsAligned(oldAddr)) return -EINVAL;
        if (!PageSize.TryAlignUp(oldSize, out ulong oldLen) || !PageSize.TryAlignUp(newSize, out ulong newLen) || newLen == 0) return -EINVAL;
        UserLayout l = space->Layout;
        if (newLen > l.UserEnd) return -EINVAL;
        // A new address (MREMAP_FIXED, and MREMAP_DONTUNMAP's argument even without it) is
        // checked before the old range is looked up, as Linux's check_mremap_params does.
        if (fix || dontUnmap)
        {
            if (newAddr > l.UserEnd - newLen || !PageSize.IsAligned(newAddr)) return -EINVAL;
            if (oldAddr + oldLen > newAddr && newAddr + newLen > oldAddr) return -EINVAL;
        }
        int i = space->Regions.Find(oldAddr);
        if (i < 0) return -EFAULT;
        Vma v = space->Regions[i];
        // old_size 0 asks for a second mapping of the same pages: refused for a private region;
        // for a shared one made when it may move (new_size bytes of the object from old_address
        // on), and otherwise the empty range cannot grow in place (ENOMEM).
        if (oldLen == 0)
        {
            if (v.Kind != VmaKind.Shared) return -EINVAL;
            if (!mayMove) return -ENOMEM;
            if (fix && newAddr < l.UserStart) return -EPERM;
            ulong at = newAddr;
            if (!fix && !FindArea(space, 0, newLen, 0, out at)) return -ENOMEM;
            // MREMAP_FIXED replaces the target first: over old_address, nothing is left to map
            // again (Linux: EFAULT); over the region's later pages, only those before it are
            // mapped again (the rest of the new range starts empty).
            Vma source = v;
            if (fix && at <= oldAddr && oldAddr - at < newLen) return -EFAULT;
            if (fix && at > oldAddr && at < source.End) source.End = at;
            if (!FitsLimit(space, newLen, fix ? OverlapBytes(space, at, at + newLen) : 0, limits)) return -ENOMEM;
            return Move(ref memory, space, source, oldAddr, 0, at, newLen, fix, true, ref arch);
        }

        if (fix || dontUnmap)
        {
            if (fix && newAddr < l.UserStart) return -EPERM;
            if (fix && newLen < oldLen)
            {
                // Linux lets the tail being cut cross regions: only the part that moves must lie
                // in one region (checked before anything changes); the tail goes first (and stays
                // gone if the move then fails, as on Linux).
                if (newLen > v.End - oldAddr) return -EFAULT;
                if (memory.Unmap(space, oldAddr + newLen, oldLen - newLen, ref arch) != Status.Ok) return -ENOMEM;
                oldLen = newLen;
                v = space->Regions[space->Regions.Find(oldAddr)];
            }
            if (oldLen > v.End - oldAddr) return -EFAULT;
            if (dontUnmap && v.Kind == VmaKind.Device) return -EINVAL;
            if (newLen > oldLen && v.Kind == VmaKind.Device) return -EFAULT;
            ulong to = newAddr;
            if (!fix && !FindArea(space, 0, newLen, 0, out to)) return -ENOMEM;
            ulong stays = dontUnmap ? oldLen : 0;
            ulong replaced = fix ? OverlapBytes(space, to, to + newLen) : 0;
            if (!FitsLimit(space, newLen + stays, oldLen + replaced, limits)) return -ENOMEM;
            return Move(ref memory, space, v, oldAddr, oldLen, to, newLen, fix, dontUnmap, ref arch);
        }

        if (newLen <= oldLen)
        {
            if (newLen < oldLen)
            {
                Status s = memory.Unmap(space, oldAddr + newLen, oldLen - newLen, ref arch);
                if (s != Status.Ok) return -ENOMEM;
            }
            return (long)oldAddr;
        }
        if (oldLen > v.End - oldAddr) return -EFAULT;
        if (v.Kind == VmaKind.Device) return -EFAULT;
        ulong delta = newLen - oldLen;
        if (!FitsLimit(space, delta, 0, limits)) return -ENOMEM;
        if (oldAddr + oldLen == v.End && v.Kind is VmaKind.Anonymous or VmaKind.Shared or VmaKind.File
            && v.End + delta > v.End && v.End + delta <= l.UserEnd && IsFree(space, v.End, v.End + delta))
        {
            var ext = new Vma
            {
                Start = v.End, End = v.End + delta, Limit = v.End, Protection = v.Protection, Kind = v.Kind,
                Offset = v.OffsetAt(v.End), File = v.File, Identity = v.Identity, ForkedIdentity = v.ForkedIdentity,
            };
            // Merges with the region it continues, so it needs no entry of the region table.
            return space->Regions.Insert(ext) == Status.Ok ? (long)oldAddr : -ENOMEM;
        }
        if (!mayMove) return -ENOMEM;
        if (!FindArea(space, 0, newLen, 0, out ulong dest)) return -ENOMEM;
        return Move(ref memory, space, v, oldAddr, oldLen, dest, newLen, false, false, ref arch);
    }

    // Moves [oldAddr, oldAddr + oldLen) of region v to a region [to, to + newLen) of its kind:
    // the region set as it will be is tried on a copy, the pages move (the only step that can
    // run out of memory, before anything changed), then the set is replaced. The new region
    // keeps the pages' owner and offset (so it merges only where Linux's would), but a private
    // anonymous region whose pages have no owner yet takes its new address as its offset (as
    // Linux's copy_vma). With `keepOld` (MREMAP_DONTUNMAP, or old_size 0) the old range stays:
    // empty for a private region, showing the same pages for a shared one.
    private static long Move<TArch>(ref UserMemory<TFormat, TFrames, TStore> memory, AddressSpace<TFormat>* space, in Vma v, ulong oldAddr, ulong oldLen, ulong to, ulong newLen, bool fix, bool keepOld, ref TArch arch)
        where TArch : struct, IArchHooks
    {
        var moved = new Vma
        {
            Start = to, End = to + newLen, Limit = to, Protection = v.Protection,
            Kind = v.Kind == VmaKind.Stack ? VmaKind.Anonymous : v.Kind,
            Offset = v.Kind is VmaKind.Anonymous or VmaKind.Stack && v.Identity == 0 ? to >> PageSize.Shift : v.OffsetAt(oldAddr),
            File = v.File, Identity = v.Identity, ForkedIdentity = v.ForkedIdentity,
        };
        VmaSet after = space->Regions;
        if (fix && after.Remove(to, to + newLen) != Status.Ok) return -ENOMEM;
        if (!keepOld && after.Remove(oldAddr, oldAddr + oldLen) != Status.Ok) return -ENOMEM;
        if (after.Insert(moved) != Status.Ok) return -ENOMEM;
        Status s;
        if (keepOld && v.Kind == VmaKind.Shared)
        {
            ulong shared = v.End - oldAddr < newLen ? v.End - oldAddr : newLen;
            s = memory.SharePages(space, v, oldAddr, to, shared, ref arch);
        }
        else s = memory.MovePages(space, oldAddr, oldLen, to, newLen, ref arch);
        if (s == Status.OutOfMemory) return -ENOMEM;
        Require(s, "mremap: a move the checks accepted");
        space->Regions = after;
        return (long)to;
    }

    // ---- madvise ----

    /// <summary>
    /// madvise(addr, length, advice). Returns 0, or EINVAL (addr not page-aligned, the range
    /// wraps, advice not provided, MADV_DONTNEED or MADV_FREE over a device region, MADV_FREE
    /// over anything but private anonymous memory: nothing changed), ENOMEM (part of the range
    /// is unmapped: the advice is applied to the mapped parts first, as Linux does).
    /// <code>
    ///   MADV_DONTNEED   pages dropped, regions kept: the next touch zero-fills (anonymous) or
    ///                   reads the file again; shared regions keep their pages (their content
    ///                   is the shared object's, as Linux's shmem keeps it)
    ///   MADV_FREE       as MADV_DONTNEED, at once (Linux may keep a page until memory is
    ///                   short; a program may not rely on either)
    ///   NORMAL, RANDOM, SEQUENTIAL, WILLNEED, COLD, PAGEOUT, DONTDUMP, DODUMP: accepted, no effect
    ///   any other       EINVAL (DONTFORK, WIPEONFORK, REMOVE, MERGEABLE, HUGEPAGE, POPULATE_*
    ///                   and the rest are not provided)
    /// </code>
    /// </summary>
    public static long Madvise<TArch>(ref UserMemory<TFormat, TFrames, TStore> memory, AddressSpace<TFormat>* space, ulong addr, ulong length, int advice, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (!PageSize.IsAligned(addr)) return -EINVAL;
        if (!PageSize.TryAlignUp(length, out ulong len) || addr + len < addr) return -EINVAL;
        bool drop = advice is LinuxMadv.MADV_DONTNEED or LinuxMadv.MADV_FREE;
        if (!drop && advice is not (LinuxMadv.MADV_NORMAL or LinuxMadv.MADV_RANDOM or LinuxMadv.MADV_SEQUENTIAL or LinuxMadv.MADV_WILLNEED
            or LinuxMadv.MADV_COLD or LinuxMadv.MADV_PAGEOUT or LinuxMadv.MADV_DONTDUMP or LinuxMadv.MADV_DODUMP))
            return -EINVAL;
        if (len == 0) return 0;
        ulong end = addr + len;
        ref VmaSet regions = ref space->Regions;
        bool hole = false;
        ulong at = addr;
        for (int i = regions.FirstEndingAfter(addr); i < regions.Count && regions[i].Start < end; i++)
        {
            Vma v = regions[i];
            if (v.Start > at) hole = true;
            at = v.End;
            if (drop && v.Kind == VmaKind.Device) return -EINVAL;
            if (advice == LinuxMadv.MADV_FREE && v.Kind is not (VmaKind.Anonymous or VmaKind.Stack)) return -EINVAL;
        }
        if (at < end) hole = true;
        if (drop) Require(memory.Discard(space, addr, len, ref arch), "madvise: discard of a checked range");
        return hole ? -ENOMEM : 0;
    }

    // ---- helpers ----

    /// <summary>The region rights for Linux's PROT bits (PROT_WRITE and PROT_EXEC imply read on x86).</summary>
    public static VmaProtection ToProtection(ulong prot)
    {
        VmaProtection p = VmaProtection.None;
        if ((prot & (LinuxProt.PROT_READ | LinuxProt.PROT_WRITE | LinuxProt.PROT_EXEC)) != 0) p |= VmaProtection.Read;
        if ((prot & LinuxProt.PROT_WRITE) != 0) p |= VmaProtection.Write;
        if ((prot & LinuxProt.PROT_EXEC) != 0) p |= VmaProtection.Execute;
        return p;
    }

    /// <summary>Bytes of regions in <paramref name="space"/> (the virtual size RLIMIT_AS bounds).</summary>
    public static ulong VirtualBytes(AddressSpace<TFormat>* space)
    {
        ulong total = 0;
        for (int i = 0; i < space->Regions.Count; i++) total += space->Regions[i].Bytes;
        return total;
    }

    // Bytes of regions inside [start, end).
    private static ulong OverlapBytes(AddressSpace<TFormat>* space, ulong start, ulong end)
    {
        ulong total = 0;
        for (int i = space->Regions.FirstEndingAfter(start); i < space->Regions.Count && space->Regions[i].Start < end; i++)
        {
            Vma v = space->Regions[i];
            total += (v.End < end ? v.End : end) - (v.Start > start ? v.Start : start);
        }
        return total;
    }

    // The space would hold at most the limit's bytes of regions after adding `added` and
    // removing `removed` (which it holds).
    private static bool FitsLimit(AddressSpace<TFormat>* space, ulong added, ulong removed, in LinuxLimits limits)
    {
        ulong after = VirtualBytes(space) - removed;
        return after + added >= after && after + added <= limits.AddressSpaceBytes;
    }

    // Where a region of kind `v` occupies the address space: a stack from the guard gap below
    // its limit (the reach of its growth) up.
    private static ulong OccupiedFrom(in Vma v, ulong gap) => v.Kind != VmaKind.Stack ? v.Start : v.Limit > gap ? v.Limit - gap : 0;

    // No region (nor a stack's reach) in [start, end).
    private static bool IsFree(AddressSpace<TFormat>* space, ulong start, ulong end)
    {
        int i = space->Regions.FirstEndingAfter(start);
        return i >= space->Regions.Count || OccupiedFrom(space->Regions[i], space->Layout.GuardGapBytes) >= end;
    }

    // Placement for a new region of `len` bytes: the hint (rounded up to a page) when the range
    // there is free and inside user space, else the highest free range in [floor, ceiling) (the
    // lowest on a bottom-up layout, UserLayout.MmapBottomUp): the mmap base up to the stack's
    // reach, or [1 GiB, 2 GiB) for MAP_32BIT on x86-64.
    private static bool FindArea(AddressSpace<TFormat>* space, ulong hint, ulong len, ulong flags, out ulong va)
    {
        UserLayout l = space->Layout;
        ulong gap = l.GuardGapBytes;
        // MAP_32BIT (x86-64): Linux searches bottom-up in [1 GiB, 2 GiB) and takes a hint only
        // when the range ends below 2 GiB.
        bool low32 = (flags & MAP_32BIT) != 0 && l.UserEnd > 0x100000000UL;
        ulong hintEnd = low32 ? Map32Ceiling : l.UserEnd;
        if (hint != 0 && PageSize.TryAlignUp(hint, out ulong h) && h >= l.UserStart && len <= hintEnd && h <= hintEnd - len && IsFree(space, h, h + len))
        {
            va = h;
            return true;
        }
        if (low32) return FindLowest(space, Map32Floor, Map32Ceiling, len, gap, out va);
        ulong floor = l.MmapBase, ceiling = l.StackLimit > gap ? l.StackLimit - gap : 0;
        if (l.MmapBottomUp) return FindLowest(space, floor, ceiling, len, gap, out va);
        ulong hi = ceiling;
        for (int i = space->Regions.Count - 1; i >= -1; i--)
        {
            ulong lo = i >= 0 ? space->Regions[i].End : floor;
            if (lo < floor) lo = floor;
            if (lo <= hi && hi - lo >= len)
            {
                va = hi - len;
                return true;
            }
            if (i < 0) break;
            ulong occupied = OccupiedFrom(space->Regions[i], gap);
            if (occupied < hi) hi = occupied;
            if (hi <= floor) break;
        }
        va = 0;
        return false;
    }

    // The lowest free range of len bytes in [floor, ceiling) (bottom-up, as Linux's legacy layout).
    private static bool FindLowest(AddressSpace<TFormat>* space, ulong floor, ulong ceiling, ulong len, ulong gap, out ulong va)
    {
        ulong lo = floor;
        int count = space->Regions.Count;
        for (int i = space->Regions.FirstEndingAfter(floor); i <= count && lo < ceiling; i++)
        {
            ulong hi = i < count ? OccupiedFrom(space->Regions[i], gap) : ceiling;
            if (hi > ceiling) hi = ceiling;
            if (hi > lo && hi - lo >= len)
            {
                va = lo;
                return true;
            }
            if (i < count && space->Regions[i].End > lo) lo = space->Regions[i].End;
        }
        va = 0;
        return false;
    }

    private static void Require(Status s, string what)
    {
        if (s != Status.Ok) Panic.Fail(what, (ulong)s);
    }
}
