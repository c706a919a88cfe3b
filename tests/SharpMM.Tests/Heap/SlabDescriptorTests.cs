using System;
using System.Runtime.CompilerServices;
using SharpMM.Heap;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>Layout facts and the one-multiply object index of <see cref="SlabDescriptor"/>.</summary>
public unsafe class SlabDescriptorTests
{
    // Expect: a 32-byte header, then a byte per object, a bit per object and the 16-byte links,
    // in 64-byte slots; the largest (512 objects) fits the descriptor pool's largest slot.
    [Fact]
    public void Header_Is32Bytes_ThenAllocatedBytesFreeBitsAndLinks()
    {
        Assert.Equal(32, sizeof(SlabDescriptor));
        Assert.Equal(32, SlabDescriptor.HeaderBytes);
        Assert.Equal(64u, SlabDescriptor.BytesFor(8));     // 32 + 8 + 8 + 16
        Assert.Equal(128u, SlabDescriptor.BytesFor(32));   // 32 + 32 + 8 + 16: the header and every allocated byte in the first line
        Assert.Equal(128u, SlabDescriptor.BytesFor(64));   // 32 + 64 + 8 + 16
        Assert.Equal(192u, SlabDescriptor.BytesFor(128));  // 32 + 128 + 16 + 16
        Assert.Equal(384u, SlabDescriptor.BytesFor(256));  // 32 + 256 + 32 + 16
        Assert.Equal(640u, SlabDescriptor.BytesFor(512));  // 32 + 512 + 64 + 16
        Assert.True(SlabDescriptor.BytesFor(SlabCache.MaxObjectsPerSlab) <= DescriptorPool.MaxSlotBytes);
    }

    // For every slot size a cache can have (multiples of 8 up to 8 KiB, and a few large ones),
    // IndexOf returns the index at each object boundary and a value >= Total anywhere else:
    // inside objects, in the tail after the last object, and below the first.
    [Fact]
    public void IndexOf_AcceptsExactlyTheBoundaries()
    {
        var d = new SlabDescriptor();
        var rng = new Random(5);
        for (uint slot = 8; slot <= 8192 + 4096 * 64; slot += slot < 8192 ? 8u : 4096u * 7)
        {
            SlabDescriptor.DivisorFor(slot, out d.Inverse, out d.Shift);
            uint objects = (uint)Math.Clamp((4096L << 3) / slot, 1, 512);
            d.Total = (ushort)objects;
            d.Start = 0x7f00_0000_0000UL + (ulong)rng.Next(0, 1 << 20) * 8;
            for (uint i = 0; i < objects; i++)
            {
                ulong p = d.Start + (ulong)i * slot;
                Assert.Equal((ulong)i, SlabDescriptor.IndexOf(&d, p));
                ulong off = 1 + (ulong)rng.Next(0, (int)slot - 1);
                Assert.True(SlabDescriptor.IndexOf(&d, p + off) >= d.Total, $"slot {slot} object {i} offset {off}");
            }
            Assert.True(SlabDescriptor.IndexOf(&d, d.Start + (ulong)objects * slot) >= d.Total);
            Assert.True(SlabDescriptor.IndexOf(&d, d.Start - slot) >= d.Total);
            Assert.True(SlabDescriptor.IndexOf(&d, d.Start - 8) >= d.Total);
        }
    }
}
