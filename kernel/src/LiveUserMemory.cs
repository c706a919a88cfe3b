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
/// The spaces' layout (<see cref="Layout"/>) is the platform's (<see cref="Platform.UserLayout"/>):
/// <code>
///   x86-64  0x0000000000010000  user space: text at 0x400000, mmap from 2^44, stack below 0x7ffffffff000
///           0xffff800000000000  PML4[256, 512): direct map, vmalloc, test window, image, kernel stack (shared)
///   i386    0x00001000          user space: text at 0x08048000, mmap from 0x40000000, stack below 0xC0000000
///           0xC0000000          PD[768, 1023): direct map, vmalloc, kmap window, kernel stack (shared);
///                               PD[1023]: the space's own directory (recursive slot); PAE: PDPT[3] shared
///   low-2g  0x00001000          user space: text at 0x08048000, mmap from 0x2AAAA000, stack below 0x80000000
///           0x80000000          PD[512, 1023) shared, PD[1023] the space's own; PAE: PDPT[2, 4) shared
/// </code>
/// A space made here copies the kernel's top-level entries of the kernel half. On x86-64 every
/// one the kernel uses exists from boot on and is never removed (KernelAddressSpace.MakeTopLevelEntries),
/// so the space sees every kernel mapping, also one made after the space; on i386 with legacy
/// paging every table of the kernel half above the direct map is made at boot and fixed likewise
/// (KernelAddressSpace.MakeKernelTables), and with PAE a space shares the kernel's whole page
/// directory.
///
/// Where the platform has HighMem (<see cref="Platform.UserHighPages"/>: i386 with RAM above the
/// direct map), user pages come from it first and user memory reaches them through kmap; page
/// tables, this area and the frame table stay in low memory.
/// </summary>
internal unsafe struct LiveUserMemory
{
    /// <summary>Address spaces a machine has room for.</summary>
    public const int SpaceCount = 4;

    /// <summary>The memory manager.</summary>
    public UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> Memory;
    /// <summary>The layout every space of this machine has.</summary>
    public UserLayout Layout;
    /// <summary>The backing store's slots (a RAM disk in the vmalloc area).</summary>
    public ulong StoreSlots;

    private AddressSpace<KernelPagingFormat>* _spaces;
    private ulong _area;

    /// <summary>Space <paramref name="i"/>'s memory (not live until created).</summary>
    public readonly AddressSpace<KernelPagingFormat>* Space(int i)
    {
        if ((uint)i >= SpaceCount) KernelPanic.Fail("user machine: space index out of range", (ulong)i);
        return _spaces + i;
    }

    /// <summary>
    /// A machine with <paramref name="storeSlots"/> swap slots (0: no paging). Return: Ok;
    /// OutOfMemory (vmalloc refused the area: nothing left allocated).
    /// </summary>
    public static Status Create(uint storeSlots, out LiveUserMemory* machine) => Create(storeSlots, null, out machine);

    /// <summary>
    /// A machine whose store is <paramref name="storeSlots"/> pages at <paramref name="storeArea"/>
    /// (memory the caller keeps mapped for the machine's life, e.g. a device's), or, when it is
    /// null, in the machine's own vmalloc area. Return: Ok; OutOfMemory (nothing left allocated).
    /// </summary>
    public static Status Create(uint storeSlots, byte* storeArea, out LiveUserMemory* machine)
    {
        machine = null;
        ulong header = Align64((ulong)sizeof(LiveUserMemory));
        ulong spaces = Align64((ulong)sizeof(AddressSpace<KernelPagingFormat>) * SpaceCount);
        ulong slotMeta = Align64(SharpMM.User.StoreSlots.BytesFor(storeSlots));
        ulong storeOffset = (header + spaces + slotMeta + PageSize.OffsetMask) & ~PageSize.OffsetMask;
        ulong bytes = storeOffset + (storeArea != null ? 0 : (ulong)storeSlots << PageSize.Shift);
        KernelFrames kf = default;
        Status s = VmallocLargeMapper.Vm.Vmalloc(bytes, ref kf, ref KernelAddressSpace.Hooks, out ulong va);
        if (s != Status.Ok) return s;

        var m = (LiveUserMemory*)va;
        *m = default;
        m->_area = va;
        m->_spaces = (AddressSpace<KernelPagingFormat>*)(va + header);
        for (int i = 0; i < SpaceCount; i++) m->_spaces[i] = default;
        var slots = new SharpMM.User.StoreSlots();
        slots.Init((byte*)(va + header + spaces), 0, storeSlots);
        var store = new RamDiskStore(storeArea != null ? storeArea : (byte*)(va + storeOffset), storeSlots);
        m->StoreSlots = storeSlots;
        m->Layout = KernelUserLayout();
        m->Memory.Init(default, store, Platform.DirectMap, slots);
        m->Memory.UseHighPages(Platform.UserHighPages);
        machine = m;
        return Status.Ok;
    }

    /// <summary>Gives the area back. Every space must have been destroyed: a live one is a
    /// test's broken invariant (its frames would leak), so this panics.</summary>
    public void Destroy()
    {
        if (Memory.SpaceCount != 0) KernelPanic.Fail("user machine: destroyed with live address spaces", (ulong)Memory.SpaceCount);
        if (Memory.UserFrames != 0) KernelPanic.Fail("user machine: user frames left after every space went", Memory.UserFrames);
        KernelLocks.RetireUserMemory(ref Memory);
        KernelFrames kf = default;
        ulong area = _area;
        if (VmallocLargeMapper.Vm.Vfree(area, ref kf, ref KernelAddressSpace.Hooks) != Status.Ok)
            KernelPanic.Fail("user machine: vfree of its area failed", area);
    }

    /// <summary>
    /// The user layout on this kernel (<see cref="Platform.UserLayout"/>). Panics when the kernel
    /// maps anything in a top-level entry of user space (its own layout says nothing of it lives
    /// there).
    /// </summary>
    public static UserLayout KernelUserLayout()
    {
        UserLayout l = Platform.UserLayout;
        byte* root = Platform.DirectMap.ToVirt(KernelAddressSpace.Mapper.RootPhys);
        for (int i = 0; i < l.KernelFirstIndex; i++)
            if (KernelPagingFormat.Read(root, i) != 0) KernelPanic.Fail("user layout: the kernel maps a top-level entry of user space", (ulong)i);
        return l;
    }

    private static ulong Align64(ulong bytes) => (bytes + 63) & ~63UL;
}
