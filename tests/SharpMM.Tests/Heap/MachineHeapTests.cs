using System.Collections.Generic;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>The heap on a whole booted machine (hosted): the buddy allocator the boot
/// sequence built, its x86-64 zones, the machine's direct map.</summary>
public unsafe class MachineHeapTests
{
    // QEMU q35 with 6 GiB: kernel-class memory spans DMA, DMA32 and Normal (RAM up to 6 GiB
    // plus the hole), 3 directory pages. Expect: objects and large blocks live in RAM the buddy
    // allocator handed out, reached through the machine's direct map; tearing the heap down
    // gives every frame back.
    [Fact]
    public void Heap_OnABootedQ35Machine()
    {
        var raw = QemuMaps.ForMachine(6UL << 30, "q35");
        var info = BootInfo.Default();
        using var m = SimulatedMachine.Boot(ref raw, in info, out _)!;
        Assert.Equal(Status.Ok, m.BootStatus);
        ref BuddyAllocator buddy = ref m.Memory->Buddy;
        ulong free0 = buddy.FreeFrames;
        var heap = (KernelHeap<BuddyClassFrames, DirectLargeMapper>*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)sizeof(KernelHeap<BuddyClassFrames, DirectLargeMapper>));
        try
        {
            Assert.Equal(Status.Ok, heap->Init(new BuddyClassFrames(&m.Memory->Buddy, MemoryClass.Kernel), m.DirectMap, new DirectLargeMapper(m.DirectMap), HeapConfig.Default));
            Assert.Equal(buddy.Map.EndPfn, heap->Pages.Frames.EndPfn); // the heap's owner words are in the buddy allocator's frame table
            var ptrs = new List<ulong>();
            for (int i = 0; i < 3000; i++)
            {
                ulong size = (ulong)(i % 7 == 0 ? 9000 + i : 8 + i % 2000);
                Assert.Equal(Status.Ok, heap->Kmalloc(size, out void* p));
                ulong phys = m.DirectMap.ToPhys(p);
                FrameState st = buddy.StateOf(phys >> PageSize.Shift);
                Assert.True(st is FrameState.Allocated or FrameState.Tail, $"object at phys {phys:x} in a frame in state {st}");
                *(ulong*)p = (ulong)i;
                ptrs.Add((ulong)p);
            }
            heap->Validate();
            for (int i = 0; i < ptrs.Count; i++) Assert.Equal((ulong)i, *(ulong*)ptrs[i]);
            foreach (ulong p in ptrs) Assert.Equal(Status.Ok, heap->Kfree((void*)p));
            Assert.Equal(Status.Ok, heap->Destroy());
            buddy.Drain();
            Assert.Equal(free0, buddy.FreeFrames);
            buddy.Validate();
        }
        finally { System.Runtime.InteropServices.NativeMemory.Free(heap); }
    }
}
