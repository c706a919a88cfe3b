using System.Runtime.InteropServices;

namespace SharpMM.Kernel;

/// <summary>
/// The Multiboot 1 information structure the loader leaves in memory (physical address in EBX,
/// passed to kmain). Only the fields the kernel reads; each is valid only when its flag is set.
/// <code>
///   +0  flags          +4  mem_lower (KiB, flag 0)     +8  mem_upper (KiB, flag 0)
///   +12 boot_device    +16 cmdline (flag 2)            +20 mods_count  +24 mods_addr (flag 3)
///   +28..+43 symbol table info                         +44 mmap_length +48 mmap_addr (flag 6)
/// </code>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MultibootInfo
{
    public const uint BootloaderMagic = 0x2BADB002;
    public const uint FlagMemory = 1u << 0;
    public const uint FlagCommandLine = 1u << 2;
    public const uint FlagModules = 1u << 3;
    public const uint FlagMemoryMap = 1u << 6;
    public const uint FlagBootLoaderName = 1u << 9;

    public uint Flags;
    public uint MemLowerKiB;
    public uint MemUpperKiB;
    public uint BootDevice;
    public uint CommandLine;
    public uint ModuleCount;
    public uint ModulesAddr;
    public uint Syms0, Syms1, Syms2, Syms3;
    public uint MmapLength;
    public uint MmapAddr;
    public uint DrivesLength, DrivesAddr, ConfigTable;
    public uint BootLoaderName;
}
