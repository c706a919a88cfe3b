using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Boot;

/// <summary>Inline storage for module ranges.</summary>
[InlineArray(BootInfo.MaxModules)]
public struct ModuleRanges
{
    private PhysRange _first;
}

/// <summary>
/// What the loader told the kernel besides the memory map, and how to lay memory out:
/// the physical ranges to reserve before anything is allocated (kernel image, boot
/// information, the map buffer, modules) and the zone layout and per-CPU cache settings.
/// Empty ranges are skipped.
/// </summary>
public struct BootInfo
{
    /// <summary>Most boot modules recorded.</summary>
    public const int MaxModules = 16;

    /// <summary>The kernel image (text, data, bss), physical.</summary>
    public PhysRange KernelImage;
    /// <summary>The boot information structure (Multiboot info), physical.</summary>
    public PhysRange BootInformation;
    /// <summary>The firmware memory-map buffer, physical.</summary>
    public PhysRange MapBuffer;
    /// <summary>The kernel command line, physical.</summary>
    public PhysRange CommandLine;
    /// <summary>Boot modules.</summary>
    public ModuleRanges Modules;
    /// <summary>Number of modules recorded.</summary>
    public int ModuleCount;
    /// <summary>How memory is split into zones.</summary>
    public ZoneLayout Layout;
    /// <summary>Per-CPU cache settings.</summary>
    public PcpConfig Pcp;
    /// <summary>End (exclusive) of the physical memory the direct map reaches, where it does not
    /// reach all RAM (a 32-bit kernel: 896 MiB on the 3G/1G split); 0 when it reaches everything.
    /// Boot metadata (frame descriptors, bitmaps) is placed below it.</summary>
    public ulong DirectMapLimit;
    /// <summary>The first physical address the kernel's page tables cannot point at (a 32-bit
    /// kernel without PAE: 4 GiB); 0 when they reach everything the library manages. Usable RAM
    /// at or above it is refused as RAM above 16 TiB is (<see cref="PhysicalMemory.RefusedRamBytes"/>),
    /// as Linux's non-PAE kernels ignore RAM above 4 GiB.</summary>
    public ulong PhysicalLimit;

    /// <summary>x86-64 zones, default per-CPU cache, nothing reserved yet.</summary>
    public static BootInfo Default()
    {
        BootInfo b = default;
        b.Layout = ZoneLayout.X86_64();
        b.Pcp = PcpConfig.Default;
        return b;
    }

    /// <summary>Records a module; NoSpace when <see cref="MaxModules"/> are recorded already.</summary>
    public Status AddModule(PhysRange range)
    {
        if (ModuleCount >= MaxModules) return Status.NoSpace;
        Modules[ModuleCount++] = range;
        return Status.Ok;
    }
}
