import Recurrent
print("rnn: placeholder")
