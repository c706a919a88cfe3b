namespace System
{
    /// <summary>The primitive <c>float</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct Single
    {
        private readonly float m_value;

        public bool Equals(float other) => m_value == other;
        public override bool Equals(object obj) => obj is float v && v == m_value;
        public override int GetHashCode() => 0;
    }
}
