using SharpMM.User;
using SharpMM.Virtual;
using Xunit;

namespace SharpMM.Tests.User;

public class UserLayoutTests
{
    // Each kernel layout with a user space: user space ends where the kernel begins, the shared
    // top-level entries start at the kernel base's directory entry (4 MiB each on 32-bit, 512 GiB
    // on x86-64), and the text, mmap base and stack lie inside user space.
    [Theory]
    [InlineData(LayoutId.I386HigherHalf, 22)]
    [InlineData(LayoutId.I386Low2G, 22)]
    [InlineData(LayoutId.X86_64, 39)]
    public void For_LayoutWithUserSpace_EndsWhereTheKernelBegins(LayoutId id, int topLevelShift)
    {
        Assert.Equal(Status.Ok, UserLayout.For(id, out UserLayout u));
        AddressSpaceLayout k = AddressSpaceLayout.Get(id);
        ulong kernelBase = k.KernelBase;
        Assert.True(u.UserEnd <= kernelBase, $"{k.Name}: user space ends at 0x{u.UserEnd:x}, the kernel begins at 0x{kernelBase:x}");
        Assert.Equal((int)((kernelBase & 0x0000FFFFFFFFFFFF) >> topLevelShift), u.KernelFirstIndex);
        Assert.True(u.IsUserRange(u.TextBase, u.TextBase + 4096));
        Assert.True(u.IsUserRange(u.MmapBase, u.MmapBase + 4096));
        Assert.True(u.IsUserRange(u.StackLimit, u.StackTop));
        Assert.True(u.TextBase < u.MmapBase && u.MmapBase < u.StackLimit);
    }

    [Fact]
    public void For_I386Low2G_IsUserSpaceBelow2GiB_WithPdes512Up()
    {
        Assert.Equal(Status.Ok, UserLayout.For(LayoutId.I386Low2G, out UserLayout u));
        Assert.Equal(0x80000000UL, u.UserEnd);
        Assert.Equal(0x80000000UL, u.StackTop);
        Assert.Equal(0x08048000UL, u.TextBase);
        Assert.Equal(512, u.KernelFirstIndex);
        Assert.Equal(1024, u.KernelEndIndex);
        Assert.Equal(1023, u.RecursiveIndex);
    }

    [Fact]
    public void For_Phantom_HasNoUserSpace()
    {
        Assert.Equal(Status.Unsupported, UserLayout.For(LayoutId.PhantomIa32, out _));
    }
}
