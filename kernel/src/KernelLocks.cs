using SharpMM.Concurrency;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// The kernel's locks in one report (<see cref="LockReport"/>): the buddy allocator's zone locks,
/// the low-memory pool's, the kernel heap's page lists and slab caches, the kernel's virtual
/// ranges, and the address-space, page-table and shared locks of the user-memory managers
/// made so far (each adds its figures here when it is destroyed: <see cref="RetireUserMemory"/>).
/// Printed as a table at the end of every boot and as "locks" on the SHARPMM-JSON line.
/// </summary>
internal static unsafe class KernelLocks
{
    private static LockReport s_userMemory;

    /// <summary>Keeps the lock figures of a user-memory manager about to be destroyed.</summary>
    public static void RetireUserMemory(ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> memory) => memory.AddLockStats(ref s_userMemory);

    /// <summary>Every kernel lock's figures now. The user-memory kinds are always present
    /// (zero before the first manager is destroyed).</summary>
    public static LockReport Collect()
    {
        LockReport r = default;
        PhysicalBoot.Memory.Buddy.AddLockStats(ref r);
        PhysicalBoot.Memory.LowMemory.AddLockStats(ref r);
        PhysicalBoot.Heap.Pages.AddLockStats(ref r);
        VmallocLargeMapper.Vm.AddLockStats(ref r);
        r.Add(LockRank.AddressSpace, 0, default);
        r.Add(LockRank.PageTables, 0, default);
        r.Add(LockRank.UserFrames, 0, default);
        r.Add(in s_userMemory);
        return r;
    }
}
