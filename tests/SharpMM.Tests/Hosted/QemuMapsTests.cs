using System.IO;
using SharpMM.Boot;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Hosted;

/// <summary>`sharpmm boot --mem` reproduces the maps QEMU hands the kernel (printed by the
/// kernel under QEMU and kept in Maps/qemu).</summary>
public unsafe class QemuMapsTests
{
    [Theory]
    [InlineData("pc-32M", 32UL << 20, "pc")]
    [InlineData("pc-3G", 3UL << 30, "pc")]
    [InlineData("pc-6G", 6UL << 30, "pc")]
    [InlineData("q35-512M", 512UL << 20, "q35")]
    [InlineData("q35-6G", 6UL << 30, "q35")]
    public void ModelEqualsWhatQemuPrinted(string file, ulong ram, string machine)
    {
        byte[] text = File.ReadAllBytes(Path.Combine(System.AppContext.BaseDirectory, "Maps", "qemu", file + ".txt"));
        MemoryMap printed = default;
        fixed (byte* p = text) Assert.Equal(Status.Ok, BootLogParser.Parse(p, text.Length, ref printed, out _));
        MemoryMap model = QemuMaps.ForMachine(ram, machine);
        Assert.Equal(printed.Count, model.Count);
        for (int i = 0; i < printed.Count; i++)
        {
            Assert.Equal(printed[i].Start, model[i].Start);
            Assert.Equal(printed[i].End, model[i].End);
            Assert.Equal(printed[i].Type, model[i].Type);
        }
    }
}
