using System.Runtime.CompilerServices;
using SharpMM.Diagnostics;

namespace SharpMM.Virtual;

/// <summary>One region of a layout: [Start, End) of virtual addresses.</summary>
public struct LayoutRegion
{
    /// <summary>First address.</summary>
    public ulong Start;
    /// <summary>One past the last address (0 for "to the top of the space" is not used: the last
    /// region of a 32-bit space ends at 2^32, of a 48-bit one at 2^64 with the hole implied).</summary>
    public ulong End;
    /// <summary>What it holds.</summary>
    public RegionKind Kind;
    /// <summary>True for user-accessible regions.</summary>
    public bool User;
    /// <summary>True when the region grows down from End (stacks).</summary>
    public bool GrowsDown;
}

/// <summary>Inline storage for a layout's regions.</summary>
[InlineArray(AddressSpaceLayout.MaxRegions)]
public struct LayoutRegions
{
    private LayoutRegion _first;
}

/// <summary>Which layout (freestanding: layouts are named by this, not by strings in a struct).</summary>
public enum LayoutId : byte
{
    /// <summary>The classic i386 higher-half kernel at 0xC0000000 with a recursive page directory.</summary>
    I386HigherHalf,
    /// <summary>The 2G/2G split: kernel at 0x80000000, RAM below 2 GiB identity-mapped (Low zone), High zone above.</summary>
    I386Low2G,
    /// <summary>Phantom OS's IA32 map: kernel heap below 1 GiB, device pool, persistent object space.</summary>
    PhantomIa32,
    /// <summary>x86-64: direct map of all RAM, vmalloc area, kernel in the top 2 GiB.</summary>
    X86_64,
}

/// <summary>
/// A kernel's address-space plan as data: sorted, non-overlapping regions with what each holds,
/// checked by tests and printed as an ASCII map (`sharpmm pagetable --layout NAME` and the boot
/// report). Page 0 is never inside a mapped region: every layout starts with a guard region.
/// The maps, as <see cref="WriteMap{TSink}"/> prints them:
/// <code>
///  i386-higher-half (classic i386)          x86-64
///  0x00000000 +--------------------+        0x0000000000000000 +---------------------------+
///             | guard (page 0)     |                           | guard (page 0)            |
///  0x00001000 +--------------------+        0x0000000000001000 +---------------------------+
///             | (user, unused)     |        0x0000000000400000 | user text/data            |
///  0x08048000 | user text/data     |        0x0000100000000000 | shared libraries, mmap    |
///             | user heap (brk ^)  |        0x00007fff00000000 | user stack (v)            |
///  0x40000000 | shared libraries   |        0x0000800000000000 +---------------------------+
///  0xbf800000 | user stack (v)     |                           | non-canonical hole        |
///  0xc0000000 +--------------------+        0xffff800000000000 +---------------------------+ kernel half
///             | kernel image 4 MiB |        0xffff888000000000 | direct map of all RAM     |
///  0xc0400000 | kernel heap        |        0xffffc90000000000 | vmalloc / ioremap         |
///  0xff400000 | kernel stacks (v)  |        0xffffe90000000000 | (unused)                  |
///  0xffc00000 | page tables (self) |        0xffffffff80000000 | kernel image (top 2 GiB)  |
///  0xfffff000 | page directory     |        0xffffffffff000000 | kernel stacks (v)         |
///             +--------------------+                           +---------------------------+
/// </code>
/// The bare-metal x86-64 kernel (kernel/arch/x86_64/KernelRegions.cs) follows the x86-64 plan:
/// its boot stub maps the direct map and the image at these bases, its vmalloc area, kmalloc's
/// physical-mapping window and its test window share the first PML4 entry of the vmalloc
/// region, and its stack ends at the top of the kernel-stack region; user spaces
/// (User/UserLayout.X86_64) start at 64 KiB.
/// </summary>
public struct AddressSpaceLayout
{
    /// <summary>Most regions a layout has.</summary>
    public const int MaxRegions = 16;

    private LayoutRegions _regions;
    private int _count;

    /// <summary>Which layout this is.</summary>
    public LayoutId Id;
    /// <summary>Virtual address bits: 32 or 48.</summary>
    public int AddressBits;
    /// <summary>First kernel address (the user/kernel split).</summary>
    public ulong KernelBase;
    /// <summary>Where the kernel image runs: virtual = physical + this (0: identity-mapped).</summary>
    public ulong KernelVirtualOffset;

    /// <summary>Number of regions.</summary>
    public readonly int Count => _count;

    /// <summary>Region <paramref name="i"/>.</summary>
    public readonly LayoutRegion this[int i]
    {
        get
        {
            if ((uint)i >= (uint)_count) Panic.Fail("layout: region index out of range", (ulong)i);
            return _regions[i];
        }
    }

    private void Add(ulong start, ulong end, RegionKind kind, bool user = false, bool growsDown = false)
    {
        if (_count >= MaxRegions) Panic.Fail("layout: too many regions");
        _regions[_count++] = new LayoutRegion { Start = start, End = end, Kind = kind, User = user, GrowsDown = growsDown };
    }

    /// <summary>The layout's name as the CLI spells it.</summary>
    public readonly string Name => NameOf(Id);

    /// <summary>CLI name of a layout.</summary>
    public static string NameOf(LayoutId id) => id switch
    {
        LayoutId.I386HigherHalf => "i386-higher-half",
        LayoutId.I386Low2G => "i386-low-2g",
        LayoutId.PhantomIa32 => "phantom-ia32",
        _ => "x86_64",
    };

    /// <summary>Finds a layout by its CLI name; false when there is none.</summary>
    public static bool TryParse(string name, out LayoutId id)
    {
        for (LayoutId i = LayoutId.I386HigherHalf; i <= LayoutId.X86_64; i++)
            if (NameOf(i) == name) { id = i; return true; }
        id = default;
        return false;
    }

    /// <summary>Builds layout <paramref name="id"/>.</summary>
    public static AddressSpaceLayout Get(LayoutId id) => id switch
    {
        LayoutId.I386HigherHalf => I386HigherHalf(),
        LayoutId.I386Low2G => I386Low2G(),
        LayoutId.PhantomIa32 => PhantomIa32(),
        _ => X86_64(),
    };

    /// <summary>
    /// The classic i386 higher half: user space below 0xC0000000 (text at 0x08048000, heap
    /// growing up after it, shared libraries from 0x40000000, stack below 0xC0000000 growing
    /// down); the kernel's 4 MiB image at 0xC0000000, its heap up to 0xFF3FFFFF, kernel stacks
    /// 0xFF400000-0xFFBFFFFF growing down, the page tables at 0xFFC00000 and the page directory
    /// at 0xFFFFF000 through the recursive self-map (directory entry 1023).
    /// </summary>
    public static AddressSpaceLayout I386HigherHalf()
    {
        AddressSpaceLayout l = default;
        l.Id = LayoutId.I386HigherHalf; l.AddressBits = 32; l.KernelBase = 0xC0000000; l.KernelVirtualOffset = 0xC0000000;
        l.Add(0x00000000, 0x00001000, RegionKind.Guard);
        l.Add(0x08048000, 0x40000000, RegionKind.UserText, user: true); // text, data, then brk heap
        l.Add(0x40000000, 0xBF800000, RegionKind.SharedLibraries, user: true);
        l.Add(0xBF800000, 0xC0000000, RegionKind.UserStack, user: true, growsDown: true);
        l.Add(0xC0000000, 0xC0400000, RegionKind.KernelImage);
        l.Add(0xC0400000, 0xFF400000, RegionKind.KernelHeap);
        l.Add(0xFF400000, 0xFFC00000, RegionKind.KernelStack, growsDown: true);
        l.Add(0xFFC00000, 0xFFFFF000, RegionKind.PageTables);
        l.Add(0xFFFFF000, 0x100000000, RegionKind.PageDirectory);
        return l;
    }

    /// <summary>
    /// The 2G/2G split: the kernel at 0x80000000; RAM below 2 GiB identity-mapped for the kernel
    /// (the Low zone, directly usable), pages of the High zone above 2 GiB of RAM mapped on
    /// demand through a window; user space below 2 GiB.
    /// </summary>
    public static AddressSpaceLayout I386Low2G()
    {
        AddressSpaceLayout l = default;
        l.Id = LayoutId.I386Low2G; l.AddressBits = 32; l.KernelBase = 0x80000000; l.KernelVirtualOffset = 0x80000000;
        l.Add(0x00000000, 0x00001000, RegionKind.Guard);
        l.Add(0x00001000, 0x80000000, RegionKind.IdentityMap);          // Low zone: RAM below 2 GiB, virt == phys
        l.Add(0x80000000, 0x80400000, RegionKind.KernelImage);
        l.Add(0x80400000, 0xF0000000, RegionKind.KernelHeap);
        l.Add(0xF0000000, 0xFF800000, RegionKind.HighMemWindow);        // High zone pages mapped on demand
        l.Add(0xFF800000, 0xFFC00000, RegionKind.KernelStack, growsDown: true);
        l.Add(0xFFC00000, 0x100000000, RegionKind.PageTables);
        return l;
    }

    /// <summary>
    /// Phantom OS's IA32 map: the kernel image and heap below 0x40000000; the unmapped
    /// address-space pool 0x40000000-0x80000000 from which device memory is mapped (page_map_io);
    /// the persistent object space 0x80000000-0xC0000000, backed by disk and snapshotted.
    /// </summary>
    public static AddressSpaceLayout PhantomIa32()
    {
        AddressSpaceLayout l = default;
        l.Id = LayoutId.PhantomIa32; l.AddressBits = 32; l.KernelBase = 0x00100000; l.KernelVirtualOffset = 0;
        l.Add(0x00000000, 0x00001000, RegionKind.Guard);
        l.Add(0x00001000, 0x00100000, RegionKind.IdentityMap);          // low memory: BIOS, trampolines
        l.Add(0x00100000, 0x00400000, RegionKind.KernelImage);
        l.Add(0x00400000, 0x40000000, RegionKind.KernelHeap);
        l.Add(0x40000000, 0x80000000, RegionKind.DevicePool);
        l.Add(0x80000000, 0xC0000000, RegionKind.ObjectSpace);
        l.Add(0xC0000000, 0xFFC00000, RegionKind.KernelStack, growsDown: true);
        l.Add(0xFFC00000, 0x100000000, RegionKind.PageTables);
        return l;
    }

    /// <summary>
    /// x86-64 (Linux-like): user space in the lower canonical half; the direct map of all RAM at
    /// 0xffff888000000000 (up to 64 TiB), vmalloc/ioremap at 0xffffc90000000000 (32 TiB), the
    /// kernel image in the top 2 GiB at 0xffffffff80000000 (-mcmodel=kernel), kernel stacks at
    /// the very top.
    /// </summary>
    public static AddressSpaceLayout X86_64()
    {
        AddressSpaceLayout l = default;
        l.Id = LayoutId.X86_64; l.AddressBits = 48; l.KernelBase = 0xFFFF800000000000; l.KernelVirtualOffset = 0xFFFFFFFF80000000;
        l.Add(0x0000000000000000, 0x0000000000001000, RegionKind.Guard);
        l.Add(0x0000000000400000, 0x0000100000000000, RegionKind.UserText, user: true);
        l.Add(0x0000100000000000, 0x00007FFF00000000, RegionKind.SharedLibraries, user: true);
        l.Add(0x00007FFF00000000, 0x0000800000000000, RegionKind.UserStack, user: true, growsDown: true);
        l.Add(0xFFFF888000000000, 0xFFFFC88000000000, RegionKind.DirectMap);
        l.Add(0xFFFFC90000000000, 0xFFFFE90000000000, RegionKind.Vmalloc);
        l.Add(0xFFFFFFFF80000000, 0xFFFFFFFFFF000000, RegionKind.KernelImage);
        l.Add(0xFFFFFFFFFF000000, 0xFFFFFFFFFFFFF000, RegionKind.KernelStack, growsDown: true);
        return l;
    }

    /// <summary>The region containing <paramref name="va"/>, or false.</summary>
    public readonly bool TryFind(ulong va, out LayoutRegion region)
    {
        for (int i = 0; i < _count; i++)
            if (va >= _regions[i].Start && va < _regions[i].End) { region = _regions[i]; return true; }
        region = default;
        return false;
    }

    /// <summary>The first region of <paramref name="kind"/>, or false.</summary>
    public readonly bool TryFind(RegionKind kind, out LayoutRegion region)
    {
        for (int i = 0; i < _count; i++)
            if (_regions[i].Kind == kind) { region = _regions[i]; return true; }
        region = default;
        return false;
    }

    /// <summary>Prints the layout as a table: range, size, kind, user/kernel, growth.</summary>
    public readonly void WriteMap<TSink>(ref TextWriter<TSink> w) where TSink : struct, ITextSink
    {
        int digits = AddressBits <= 32 ? 8 : 16;
        w.Str("layout "); w.Str(Name); w.Str(" ("); w.Dec((ulong)AddressBits); w.Str("-bit, kernel from "); w.Hex(KernelBase, digits); w.Line(")");
        for (int i = 0; i < _count; i++)
        {
            LayoutRegion r = _regions[i];
            w.Str("  "); w.Hex(r.Start, digits); w.Char('-'); w.Hex(r.End - 1, digits); w.Str("  ");
            w.Size(r.End - r.Start); w.Str("  "); w.StrPad(RegionNames.Name(r.Kind), 18);
            w.Str(r.User ? "user" : "kernel");
            if (r.GrowsDown) w.Str(", grows down");
            w.Line();
        }
    }
}
