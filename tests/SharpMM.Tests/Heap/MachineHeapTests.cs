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
                FrameState st = buddy.StateOf(Pfn.New(phys >> PageSize.Shift));
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

    // `boot --debug-heap`: the machine's heap in debug mode. Expect: one kmalloc never freed is
    // in the leak report (text and the JSON member leak_report, with its site); a double free
    // is refused and recorded; a machine whose kernel zones span 15 TiB still starts its heap
    // (the frame table it shares with the buddy allocator has no 1 TiB limit).
    [Fact]
    public void MachineHeap_DebugMode_ReportsLeaksInTextAndJson()
    {
        var raw = QemuMaps.ForMachine(128UL << 20, "pc");
        var info = BootInfo.Default();
        using var m = SimulatedMachine.Boot(ref raw, in info, out _)!;
        using var heap = new MachineHeap(m, HeapMode.Debug);
        Assert.Equal(Status.Ok, heap.Status);
        Assert.Equal(Status.Ok, heap.Heap->Kmalloc(100, out void* leaked));
        Assert.Equal(Status.Ok, heap.Heap->Kmalloc(50, out void* freed));
        Assert.Equal(Status.Ok, heap.Heap->Kfree(freed));
        Assert.Equal(Status.DoubleFree, heap.Heap->Kfree(freed));
        var w = StringSink.NewWriter();
        heap.WriteText(ref w);
        string text = w.Sink.Text.ToString();
        Assert.Contains("leak report: 1 live allocations, 100 bytes, from 1 site", text);
        Assert.Contains("MachineHeapTests.cs:", text);
        var j = StringSink.NewWriter();
        heap.WriteJson(ref j, in *m.Memory);
        using var doc = System.Text.Json.JsonDocument.Parse(j.Sink.Text.ToString());
        var leaks = doc.RootElement.GetProperty("leak_report");
        Assert.Equal(1, leaks.GetProperty("live_objects").GetInt32());
        Assert.Contains("MachineHeapTests.cs:", leaks.GetProperty("sites")[0].GetProperty("site").GetString());
        Assert.True(leaks.GetProperty("events").GetProperty("total").GetInt32() >= 1);
        Assert.True(doc.RootElement.GetProperty("meminfo_heap").GetProperty("debug").GetBoolean());
        Assert.Equal(Status.Ok, heap.Heap->Kfree(leaked));

        var far = new MemoryMap();
        far.Add(0x100000, 64UL << 20, MemoryType.Usable);
        far.Add(15UL << 40, (15UL << 40) + (64UL << 20), MemoryType.Usable);
        using var sparse = SimulatedMachine.Boot(ref far, in info, out _)!;
        using var farHeap = new MachineHeap(sparse);
        Assert.Equal(Status.Ok, farHeap.Status); // the shared frame table covers all 16 TiB
        Assert.Equal(Status.Ok, farHeap.Heap->Kmalloc(1 << 20, out void* big));
        Assert.Equal(Status.Ok, farHeap.Heap->Kfree(big));
    }
}
