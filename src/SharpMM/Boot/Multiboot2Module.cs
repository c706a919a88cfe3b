namespace SharpMM.Boot;

/// <summary>A Multiboot 2 module tag (type 3): the module's physical bounds and its string,
/// which points into the boot-information structure.</summary>
public readonly unsafe struct Multiboot2Module
{
    /// <summary>Physical address of the first byte of the module.</summary>
    public readonly uint Start;
    /// <summary>Physical address one past the last byte of the module.</summary>
    public readonly uint End;
    /// <summary>The module's string (not NUL-terminated here; see <see cref="CommandLineLength"/>).</summary>
    public readonly byte* CommandLine;
    /// <summary>Bytes of <see cref="CommandLine"/> before its NUL (or the tag's end).</summary>
    public readonly int CommandLineLength;

    /// <summary>Builds a module description.</summary>
    public Multiboot2Module(uint start, uint end, byte* commandLine, int commandLineLength)
    {
        Start = start;
        End = end;
        CommandLine = commandLine;
        CommandLineLength = commandLineLength;
    }
}
