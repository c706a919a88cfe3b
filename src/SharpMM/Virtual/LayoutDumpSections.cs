using SharpMM.Paging;

namespace SharpMM.Virtual;

/// <summary>
/// A layout's regions as ptdump sections, named as Linux's x86 ptdump names its markers where
/// there is a counterpart: "User Space" from 0, "Kernel Space" from the kernel base (64-bit),
/// "Low Kernel Mapping" (the direct map) and "High Kernel Mapping" (the kernel image) on
/// x86-64, "Kernel Mapping" on 32-bit, "vmalloc() Area", "Persistent kmap() Area"; the
/// regions Linux has no name for (the recursive page tables, Phantom's object space) are named
/// after their kind. User regions and guards get no marker of their own.
/// </summary>
public unsafe struct LayoutDumpSections : IDumpSections
{
    private const byte UserSpace = 254, KernelSpace = 255;
    private const int Capacity = AddressSpaceLayout.MaxRegions + 2;
    private fixed ulong _starts[Capacity];
    private fixed byte _codes[Capacity];
    private int _count;
    private bool _bits64;

    /// <summary>The sections of <paramref name="layout"/>.</summary>
    public LayoutDumpSections(in AddressSpaceLayout layout)
    {
        _bits64 = layout.AddressBits > 32;
        Add(0, UserSpace);
        bool kernelSpace = !_bits64;
        for (int i = 0; i < layout.Count; i++)
        {
            LayoutRegion r = layout[i];
            if (r.User || r.Kind == RegionKind.Guard) continue;
            if (!kernelSpace && r.Start >= layout.KernelBase) { Add(layout.KernelBase, KernelSpace); kernelSpace = true; }
            Add(r.Start, (byte)r.Kind);
        }
    }

    private void Add(ulong start, byte code)
    {
        if (_count == Capacity || (_count > 0 && start < _starts[_count - 1])) return;
        _starts[_count] = start;
        _codes[_count] = code;
        _count++;
    }

    /// <inheritdoc/>
    public readonly int Count => _count;

    /// <inheritdoc/>
    public readonly ulong Start(int i) => _starts[i];

    /// <inheritdoc/>
    public readonly string Name(int i) => _codes[i] switch
    {
        UserSpace => "User Space",
        KernelSpace => "Kernel Space",
        (byte)RegionKind.KernelImage => _bits64 ? "High Kernel Mapping" : "Kernel Mapping",
        (byte)RegionKind.DirectMap => _bits64 ? "Low Kernel Mapping" : "Kernel Mapping",
        (byte)RegionKind.IdentityMap => "Identity Mapping",
        (byte)RegionKind.Vmalloc => "vmalloc() Area",
        (byte)RegionKind.KernelHeap => "Kernel Heap",
        (byte)RegionKind.KernelStack => "Kernel Stack",
        (byte)RegionKind.PageTables => "Page Tables",
        (byte)RegionKind.PageDirectory => "Page Directory",
        (byte)RegionKind.DevicePool => "Device Pool",
        (byte)RegionKind.ObjectSpace => "Object Space",
        (byte)RegionKind.HighMemWindow => "Persistent kmap() Area",
        _ => RegionNames.Name((RegionKind)_codes[i]),
    };
}
