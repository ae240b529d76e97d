"""Where `faceloop.learn` meets the database: the training data, training, predictions, who is
in a photo, the models as a person reads them, and the jobs that train and predict.
"""
