using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// The library's user memory manager on this machine, for the in-kernel tests: a
/// <see cref="UserMemory{TFormat, TFrames, TStore}"/> over the buddy allocator
/// (<see cref="KernelFrames"/>) with a RAM-disk store, room for <see cref="SpaceCount"/>
/// address spaces and the swap slots' metadata, all in one vmalloc area, so that creating and
/// destroying a machine leaves the buddy allocator as it was. What user memory keeps per frame
/// is in the buddy allocator's frame table (each frame's owner word).
/// <code>
///   vmalloc area: this header | spaces | swap-slot metadata | (page) store slots
/// </code>
///
/// The spaces' layout (<see cref="Layout"/>) is x86-64's (<see cref="UserLayout.X86_64"/>): the
/// whole lower half is user space, the higher half the kernel's:
/// <code>
///   0x0000000000010000  user space: text at 0x400000, mmap from 2^44, stack below 0x7ffffffff000
///   0xffff800000000000  PML4[256, 512): direct map, vmalloc, test window, image, kernel stack (shared)
/// </code>
/// A space made here copies the kernel's PML4 entries 256..511; every one the kernel uses exists
/// from boot on and is never removed (KernelAddressSpace.MakeTopLevelEntries), so the space sees
/// every kernel mapping, also one made after the space.
/// </summary>
internal unsafe struct LiveUserMemory
{
    /// <summary>Address spaces a machine has room for.</summary>
    public const int SpaceCount = 4;

    /// <summary>The memory manager.</summary>
    public UserMemory<X86LongModeFormat, KernelFrames, RamDiskStore> Memory;
    /// <summary>The layout every space of this machine has.</summary>
    public UserLayout Layout;
    /// <summary>The backing store's slots (a RAM disk in the vmalloc area).</summary>
    public ulong StoreSlots;

    private AddressSpace<X86LongModeFormat>* _spaces;
    private ulong _area;

    /// <summary>Space <paramref name="i"/>'s memory (not live until created).</summary>
    public readonly AddressSpace<X86LongModeFormat>* Space(int i)
    {
        if ((uint)i >= SpaceCount) KernelPanic.Fail("user machine: space index out of range", (ulong)i);
        return _spaces + i;
    }

    /// <summary>
    /// A machine with <paramref name="storeSlots"/> swap slots (0: no paging). Return: Ok;
    /// OutOfMemory (vmalloc refused the area: nothing left allocated).
    /// </summary>
    public static Status Create(uint storeSlots, out LiveUserMemory* machine)
    {
        machine = null;
        ulong header = Align64((ulong)sizeof(LiveUserMemory));
        ulong spaces = Align64((ulong)sizeof(AddressSpace<X86LongModeFormat>) * SpaceCount);
        ulong slotMeta = Align64(SharpMM.User.StoreSlots.BytesFor(storeSlots));
        ulong storeOffset = (header + spaces + slotMeta + PageSize.OffsetMask) & ~PageSize.OffsetMask;
        ulong bytes = storeOffset + ((ulong)storeSlots << PageSize.Shift);
        KernelFrames kf = default;
        Status s = VmallocLargeMapper.Vm.Vmalloc(bytes, ref kf, ref KernelAddressSpace.Hooks, out ulong va);
        if (s != Status.Ok) return s;

        var m = (LiveUserMemory*)va;
        *m = default;
        m->_area = va;
        m->_spaces = (AddressSpace<X86LongModeFormat>*)(va + header);
        for (int i = 0; i < SpaceCount; i++) m->_spaces[i] = default;
        var slots = new SharpMM.User.StoreSlots();
        slots.Init((byte*)(va + header + spaces), 0, storeSlots);
        var store = new RamDiskStore((byte*)(va + storeOffset), storeSlots);
        m->StoreSlots = storeSlots;
        m->Layout = KernelUserLayout();
        m->Memory.Init(default, store, Platform.DirectMap, slots);
        machine = m;
        return Status.Ok;
    }

    /// <summary>Gives the area back. Every space must have been destroyed: a live one is a
    /// test's broken invariant (its frames would leak), so this panics.</summary>
    public void Destroy()
    {
        if (Memory.SpaceCount != 0) KernelPanic.Fail("user machine: destroyed with live address spaces", (ulong)Memory.SpaceCount);
        if (Memory.UserFrames != 0) KernelPanic.Fail("user machine: user frames left after every space went", Memory.UserFrames);
        KernelFrames kf = default;
        ulong area = _area;
        if (VmallocLargeMapper.Vm.Vfree(area, ref kf, ref KernelAddressSpace.Hooks) != Status.Ok)
            KernelPanic.Fail("user machine: vfree of its area failed", area);
    }

    /// <summary>
    /// The user layout on this kernel: x86-64's lower half as it is. Panics when the kernel maps
    /// anything in a PML4 entry of user space (its own layout says nothing of it lives there).
    /// </summary>
    public static UserLayout KernelUserLayout()
    {
        UserLayout l = UserLayout.X86_64();
        ulong* root = (ulong*)Platform.DirectMap.ToVirt(KernelAddressSpace.Mapper.RootPhys);
        for (int i = 0; i < l.KernelFirstIndex; i++)
            if (root[i] != 0) KernelPanic.Fail("user layout: the kernel maps a PML4 entry of user space", (ulong)i);
        return l;
    }

    private static ulong Align64(ulong bytes) => (bytes + 63) & ~63UL;
}
