namespace SharpMM.Boot;

/// <summary>One Multiboot 1 module descriptor (16 bytes at mods_addr + 16 * i). Addresses are
/// physical; the caller maps them.</summary>
public readonly struct Multiboot1Module
{
    /// <summary>Size of a descriptor in bytes.</summary>
    public const int Size = 16;

    /// <summary>Physical address of the first byte of the module.</summary>
    public readonly uint Start;
    /// <summary>Physical address one past the last byte of the module.</summary>
    public readonly uint End;
    /// <summary>Physical address of the module's NUL-terminated string (0 when none).</summary>
    public readonly uint CommandLineAddr;

    /// <summary>Builds a descriptor.</summary>
    public Multiboot1Module(uint start, uint end, uint commandLineAddr)
    {
        Start = start;
        End = end;
        CommandLineAddr = commandLineAddr;
    }
}
