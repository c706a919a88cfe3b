using System;
using System.IO;
using System.Text;
using SharpMM.Hosted.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>
/// The hosted store file: a header page ("SMMSTORE", version 1, page size, slot count) before
/// slot 0; an existing file that is not a store is refused unless the caller says to replace it.
/// </summary>
public sealed unsafe class StoreFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpmm-storefile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    // Expect: a new store starts with the header and has room for the header page and every slot.
    [Fact]
    public void NewStore_StartsWithTheHeader()
    {
        string path = PathOf("new.store");
        using (var f = new StoreFile(path, 8, keep: true)) { }
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(4096 + 8 * 4096, bytes.Length);
        Assert.Equal("SMMSTORE", Encoding.ASCII.GetString(bytes, 0, 8));
        Assert.Equal(1u, BitConverter.ToUInt32(bytes, 8));
        Assert.Equal(4096u, BitConverter.ToUInt32(bytes, 12));
        Assert.Equal(8UL, BitConverter.ToUInt64(bytes, 16));
        Assert.False(StoreFile.IsForeignFile(path));
    }

    // Expect: a 14-byte text file is foreign, refused with a message naming it, and left as it was.
    [Fact]
    public void ExistingTextFile_IsRefused_AndUnchanged()
    {
        string path = PathOf("notes.txt");
        File.WriteAllText(path, "my notes here\n");
        Assert.True(StoreFile.IsForeignFile(path));
        var e = Assert.Throws<StoreFileRefusedException>(() => new StoreFile(path, 16));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a SharpMM store file", e.Message);
        Assert.Equal("my notes here\n", File.ReadAllText(path));
        Assert.Throws<StoreFileRefusedException>(() => new UserMachine<SharpMM.Paging.X86.X86LongModeFormat>(SharpMM.Virtual.LayoutId.X86_64, 16UL << 20, path, 64));
        Assert.Equal("my notes here\n", File.ReadAllText(path));
    }

    // Expect: with replaceForeign the same file becomes a store.
    [Fact]
    public void ExistingTextFile_IsReplaced_WhenForced()
    {
        string path = PathOf("notes.txt");
        File.WriteAllText(path, "my notes here\n");
        using (var f = new StoreFile(path, 4, keep: true, replaceForeign: true)) { }
        Assert.False(StoreFile.IsForeignFile(path));
        Assert.Equal("SMMSTORE", Encoding.ASCII.GetString(File.ReadAllBytes(path), 0, 8));
    }

    // Expect: a store reopened keeps its slots (pages written before are read back).
    [Fact]
    public void ExistingStore_IsReopened_WithItsData()
    {
        string path = PathOf("data.store");
        byte* page = stackalloc byte[4096];
        using (var f = new StoreFile(path, 4, keep: true))
        {
            new Span<byte>(page, 4096).Fill(0x5a);
            Assert.Equal(Status.Ok, new FileBackingStore(f).Write(3, page));
        }
        using (var f = new StoreFile(path, 4, keep: true))
        {
            new Span<byte>(page, 4096).Clear();
            Assert.Equal(Status.Ok, new FileBackingStore(f).Read(3, page));
            Assert.Equal(0x5a, page[4095]);
            Assert.Equal(1L, f.Reads);
        }
    }

    // Expect: missing and empty files are not foreign; a directory and a store of another
    // version are, each with its reason.
    [Fact]
    public void IsForeignFile_Cases()
    {
        Assert.False(StoreFile.IsForeignFile(PathOf("missing")));
        File.WriteAllBytes(PathOf("empty"), Array.Empty<byte>());
        Assert.False(StoreFile.IsForeignFile(PathOf("empty")));
        Assert.True(StoreFile.IsForeignFile(_dir));
        Assert.Contains("is a directory", Assert.Throws<StoreFileRefusedException>(() => StoreFile.EnsureOpenable(_dir, false)).Message);
        var v2 = new byte[4096];
        Encoding.ASCII.GetBytes("SMMSTORE").CopyTo(v2, 0);
        BitConverter.GetBytes(2u).CopyTo(v2, 8);
        BitConverter.GetBytes(4096u).CopyTo(v2, 12);
        File.WriteAllBytes(PathOf("v2.store"), v2);
        Assert.True(StoreFile.IsForeignFile(PathOf("v2.store")));
        Assert.Contains("version 2", Assert.Throws<StoreFileRefusedException>(() => StoreFile.EnsureOpenable(PathOf("v2.store"), false)).Message);
    }
}
