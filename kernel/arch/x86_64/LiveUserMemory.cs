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
/// The spaces' layout (<see cref="Layout"/>) is x86-64's lower half with the kernel's own
/// entries at both ends: the kernel runs identity-mapped (virt == phys) under the first PML4
/// entries, so those are shared like the higher half (<see cref="UserLayout.KernelLowEndIndex"/>)
/// and user space starts at the next 512 GiB boundary:
/// <code>
///   0x0000000000000000  PML4[0, low): kernel image, direct map (shared, never freed by a space)
///   low * 512 GiB       user space: text at +4 MiB, mmap from 2^44, stack below 0x7ffffffff000
///   0xffff800000000000  PML4[256, 512): kernel stack, vmalloc, test window (shared)
/// </code>
/// A space made here sees every kernel mapping whose PML4 entry existed when it was made; the
/// tests keep to the kernel stack, the direct map and the vmalloc area while a space is loaded.
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
        m->Memory.Init(default, store, new DirectMap(0), slots);
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
    /// The user layout on this kernel: x86-64's, with the PML4 entries of the identity-mapped
    /// kernel ([0, end of the direct map)) shared as low kernel entries and user space starting
    /// above them. Panics when the kernel maps anything between them and the higher half (its
    /// own layout says nothing lives there).
    /// </summary>
    public static UserLayout KernelUserLayout()
    {
        const int EntryShift = 39;
        ulong end = KernelAddressSpace.DirectMapEnd;
        int low = (int)((end + (1UL << EntryShift) - 1) >> EntryShift);
        UserLayout l = UserLayout.X86_64();
        ulong* root = (ulong*)KernelAddressSpace.Mapper.RootPhys;
        for (int i = low; i < l.KernelFirstIndex; i++)
            if (root[i] != 0) KernelPanic.Fail("user layout: the kernel maps a PML4 entry of user space", (ulong)i);
        l.KernelLowEndIndex = low;
        l.UserStart = (ulong)low << EntryShift;
        l.TextBase = l.UserStart + 0x400000;
        return l;
    }

    private static ulong Align64(ulong bytes) => (bytes + 63) & ~63UL;
}
